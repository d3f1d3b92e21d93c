"""Bad input gives an EdgekitError whose message says what was received and how to fix it."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_fixtures import fixture_bytes, fixture_path

from edgekit import runtime
from edgekit.errors import BadInputError
from edgekit.runtime import Model


@pytest.fixture(scope="module")
def float_model():
    return runtime.load(fixture_path("float32"))


@pytest.fixture(scope="module")
def int8_model():
    return runtime.load(fixture_path("int8"))


@pytest.fixture(scope="module")
def two_inputs():
    return runtime.load(fixture_path("two_inputs"))


def test_missing_batch_dimension_suggests_x_none(float_model):
    with pytest.raises(BadInputError) as info:
        float_model.predict(np.zeros((8, 8, 3), np.float32))
    message = str(info.value)
    assert "'image'" in message and "(n, 8, 8, 3)" in message
    assert "received shape (8, 8, 3)" in message and "x[None]" in message


def test_wrong_shape(float_model):
    with pytest.raises(BadInputError, match=r"expects shape \(n, 8, 8, 3\).*received shape \(1, 8, 8, 4\)"):
        float_model.predict(np.zeros((1, 8, 8, 4), np.float32))
    with pytest.raises(BadInputError, match=r"received shape \(0, 8, 8, 3\)"):
        float_model.predict(np.zeros((0, 8, 8, 3), np.float32))


def test_integer_array_into_float_input(float_model):
    with pytest.raises(BadInputError) as info:
        float_model.predict(np.zeros((1, 8, 8, 3), np.uint8))
    message = str(info.value)
    assert "'image'" in message and "received uint8" in message
    assert "floating-point" in message and "float32[1, 8, 8, 3]" in message


def test_wrong_integer_dtype_into_quantized_input(int8_model):
    with pytest.raises(BadInputError) as info:
        int8_model.predict(np.zeros((1, 8, 8, 3), np.uint8))
    message = str(info.value)
    assert "'image'" in message and "received uint8 with shape (1, 8, 8, 3)" in message
    assert "int8 arrays or floats" in message and "zero point -128" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(float_model, int8_model, bad):
    x = np.zeros((1, 8, 8, 3), np.float32)
    x[0, 3, 3, 1] = bad
    for model in (float_model, int8_model):
        with pytest.raises(BadInputError, match="input 'image' contains NaN or infinite"):
            model.predict(x)
    with pytest.raises(BadInputError, match="NaN or infinite"):
        float_model.predict(np.concatenate([np.zeros_like(x), x]))  # in the second sample


def test_huge_finite_values_are_not_mistaken_for_inf(float_model):
    x = np.full((1, 8, 8, 3), 3e38, np.float32)  # the float32 sum overflows; values are finite
    assert float_model.predict(x).shape == (1, 3)


def test_wrong_number_of_inputs(two_inputs, float_model):
    alpha, beta = np.zeros((1, 4), np.float32), np.zeros((1, 6), np.float32)
    with pytest.raises(BadInputError, match=r"has 2 inputs \('alpha', 'beta'\); received one array"):
        two_inputs.predict(alpha)
    with pytest.raises(BadInputError, match=r"has 2 input\(s\).*received 3 arrays"):
        two_inputs.predict([alpha, beta, beta])
    with pytest.raises(BadInputError, match=r"has 1 input\(s\).*received 2 arrays"):
        float_model.predict([np.zeros((1, 8, 8, 3), np.float32)] * 2)


def test_unknown_or_missing_input_name(two_inputs):
    alpha, beta = np.zeros((1, 4), np.float32), np.zeros((1, 6), np.float32)
    with pytest.raises(BadInputError, match=r"unknown: \['gamma'\]"):
        two_inputs.predict({"alpha": alpha, "beta": beta, "gamma": beta})
    with pytest.raises(BadInputError, match=r"missing: \['beta'\]"):
        two_inputs.predict({"alpha": alpha})


def test_inputs_with_different_batch_sizes(two_inputs):
    with pytest.raises(BadInputError, match=r"same number of samples.*\[2, 3\]"):
        two_inputs.predict([np.zeros((2, 4), np.float32), np.zeros((3, 6), np.float32)])


def test_missing_file(tmp_path):
    with pytest.raises(BadInputError, match="model file not found: .*nope.tflite"):
        runtime.load(tmp_path / "nope.tflite")


def test_directory(tmp_path):
    with pytest.raises(BadInputError, match="is a folder, not a .tflite file"):
        runtime.load(tmp_path)


def test_not_a_tflite_file(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a flatbuffer")
    with pytest.raises(BadInputError) as info:
        runtime.load(path)
    assert str(info.value).startswith(f"{path} is not a TFLite model (no TFL3 identifier)")
    assert "pass a .tflite file" in str(info.value)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty.tflite is not a TFLite model"):
        runtime.load(empty)


def test_eight_bytes_with_tflite_magic(tmp_path):
    path = tmp_path / "tiny.tflite"
    path.write_bytes(b"\x00\x00\x00\x00TFL3")
    with pytest.raises(BadInputError) as info:
        runtime.load(path)
    message = str(info.value)
    assert str(path) in message and "cannot be loaded by the litert interpreter" in message
    assert "\n" not in message


def test_truncated_model(tmp_path):
    path = tmp_path / "cut.tflite"
    path.write_bytes(fixture_bytes("float32")[:1000])
    with pytest.raises(BadInputError, match="cut.tflite cannot be loaded by the litert interpreter"):
        runtime.load(path)


def test_from_bytes_checks_the_identifier():
    with pytest.raises(BadInputError, match="the model is not a TFLite model"):
        Model.from_bytes(b"not a model at all")


def test_ragged_list_input(float_model):
    with pytest.raises(BadInputError, match="input 'image' is not an array"):
        float_model.predict([[[1.0, 2.0], [3.0]]])
