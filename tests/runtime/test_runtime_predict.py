"""Model.predict on the checked-in fixtures, compared with the Keras reference outputs."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_fixtures import expected, fixture_bytes, fixture_path  # noqa: F401 (fixture)

from edgekit import runtime
from edgekit.artifact import to_json
from edgekit.runtime.cpu import physical_cores
from edgekit.runtime import Model, TensorSpec


def test_load_reports_specs_and_attributes():
    model = runtime.load(fixture_path("int8"))
    assert model.backend == "litert"
    assert model.path == fixture_path("int8")
    assert model.size_bytes == fixture_path("int8").stat().st_size
    assert model.threads == physical_cores() and model.manifest is None  # the default: every core
    (spec,) = model.inputs
    assert spec == TensorSpec("image", 0, (1, 8, 8, 3), "int8", spec.scale, -128)
    assert spec.quantized and spec.scale == pytest.approx(1 / 255, rel=1e-4)
    assert to_json(spec)["shape"] == [1, 8, 8, 3]
    assert [s.name for s in model.outputs] == ["output_0"]


def test_float32_matches_keras(expected):
    model = runtime.load(fixture_path("float32"))
    result = model.predict(expected["images"])
    assert result.dtype == np.float32 and result.shape == (8, 3)
    np.testing.assert_allclose(result, expected["cnn_reference"], atol=1e-5)


@pytest.mark.parametrize("name", ["int8", "uint8"])
def test_quantized_matches_keras_within_a_few_steps(expected, name):
    model = runtime.load(fixture_path(name))
    result = model.predict(expected["images"])
    assert result.dtype == np.float32
    step = model.outputs[0].scale
    assert np.abs(result - expected["cnn_reference"]).max() <= 4 * step
    # and bit-exact with what the interpreter gave when the fixture was made
    raw = model.predict(expected["images"], raw=True)
    assert raw.dtype == np.dtype(name)
    np.testing.assert_array_equal(raw, expected[f"{name}_tflite_raw"])


def test_dequantized_output_equals_formula(expected):
    model = runtime.load(fixture_path("int8"))
    spec = model.outputs[0]
    raw = model.predict(expected["images"], raw=True)
    manual = ((raw.astype(np.int64) - spec.zero_point) * spec.scale).astype(np.float32)
    np.testing.assert_array_equal(model.predict(expected["images"]), manual)


def test_integer_input_goes_in_unchanged(expected):
    model = runtime.load(fixture_path("int8"))
    spec = model.inputs[0]
    q = runtime.quantize(expected["images"], spec.scale, spec.zero_point, np.int8)
    np.testing.assert_array_equal(
        model.predict(q, raw=True), model.predict(expected["images"], raw=True)
    )


@pytest.mark.parametrize("name", ["float32", "int8", "uint8"])
def test_batch_of_8_equals_8_single_calls(expected, name):
    model = runtime.load(fixture_path(name))
    images = expected["images"]
    singles = np.concatenate([model.predict(images[i:i + 1], raw=True) for i in range(8)])
    np.testing.assert_array_equal(model.predict(images, raw=True), singles)


def test_batch_that_needs_padding(expected):
    model = runtime.load(fixture_path("float32"))
    out = model.predict(expected["images"][:3])
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, model.predict(expected["images"])[:3])


def test_two_inputs_by_position_and_by_name(expected):
    model = runtime.load(fixture_path("two_inputs"))
    assert [s.name for s in model.inputs] == ["alpha", "beta"]
    assert [s.name for s in model.outputs] == ["output_0", "output_1"]
    alpha, beta = expected["alpha"], expected["beta"]
    by_position = model.predict([alpha, beta])
    by_name = model.predict({"beta": beta, "alpha": alpha})
    assert list(by_position) == ["output_0", "output_1"]
    for key, reference in (("output_0", "two_head_a"), ("output_1", "two_head_b")):
        np.testing.assert_allclose(by_position[key], expected[reference], atol=1e-5)
        np.testing.assert_array_equal(by_position[key], by_name[key])
    single = model.predict((alpha[:1], beta[:1]))
    np.testing.assert_array_equal(single["output_1"], by_position["output_1"][:1])


def test_float_input_accepts_float64_and_float16(expected):
    model = runtime.load(fixture_path("float32"))
    images = expected["images"][:2]
    reference = model.predict(images)
    np.testing.assert_array_equal(model.predict(images.astype(np.float64)), reference)
    np.testing.assert_allclose(model.predict(images.astype(np.float16)), reference, atol=1e-2)


def test_non_contiguous_input(expected):
    model = runtime.load(fixture_path("float32"))
    image = np.asfortranarray(expected["images"][:1])
    np.testing.assert_array_equal(model.predict(image), model.predict(expected["images"][:1]))


def test_predict_does_not_keep_returning_the_same_buffer(expected):
    model = runtime.load(fixture_path("float32"))
    first = model.predict(expected["images"][:1])
    kept = first.copy()
    model.predict(expected["images"][1:2])
    np.testing.assert_array_equal(first, kept)


def test_from_bytes_and_threads(expected):
    model = Model.from_bytes(fixture_bytes("float32"), threads=2)
    assert model.threads == 2 and model.path is None
    np.testing.assert_allclose(
        model.predict(expected["images"]), expected["cnn_reference"], atol=1e-5
    )
    assert "float32[1, 8, 8, 3]" in repr(model)


@pytest.mark.parametrize("name", ["float32", "int8"])
def test_common_call_takes_the_fast_path(expected, name, monkeypatch):
    """One input of the exact dtype and shape never reaches the general (checking) path."""
    model = runtime.load(fixture_path(name))
    x = runtime.quantize(expected["images"][:1], model.inputs[0].scale, -128, np.int8) if (
        name == "int8") else expected["images"][:1]
    reference = model.predict(x)

    def fail(*args):
        raise AssertionError("general path used")

    monkeypatch.setattr(model, "_predict_general", fail)
    np.testing.assert_array_equal(model.predict(x), reference)
