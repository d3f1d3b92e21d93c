"""Every convert error: exit code, one line naming the problem and the fix, nothing written."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from edgekit_testing import assert_clean_error, run_cli

pytestmark = pytest.mark.convert


def _files(folder):
    return sorted(p.name for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    import keras

    folder = tmp_path_factory.mktemp("errors")
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Flatten()(inputs)
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x)).save(folder / "m.keras")
    return folder


def _check(tmp_path, model_dir, args, code, *words, setup=None):
    (tmp_path / "m.keras").write_bytes((model_dir / "m.keras").read_bytes())
    if setup:
        setup(tmp_path)
    before = _files(tmp_path)
    result = run_cli("convert", *args, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert _files(tmp_path) == before, "a failed convert must write nothing"


def test_missing_model_file(tmp_path, model_dir):
    _check(tmp_path, model_dir, ["nope.keras", "--float32"], 3, "model not found", "nope.keras")


def test_file_that_is_not_a_model(tmp_path, model_dir):
    def setup(d):
        (d / "notes.keras").write_text("hello, not a zip")
    _check(tmp_path, model_dir, ["notes.keras", "--float32"], 3, "not a valid .keras file", setup=setup)


def test_truncated_keras_zip(tmp_path, model_dir):
    def setup(d):
        data = (d / "m.keras").read_bytes()
        (d / "cut.keras").write_bytes(data[: len(data) // 2])
    _check(tmp_path, model_dir, ["cut.keras", "--float32"], 3, "cut.keras", "not a valid .keras file", setup=setup)


def test_zip_that_is_not_a_keras_model(tmp_path, model_dir):
    def setup(d):
        with zipfile.ZipFile(d / "other.keras", "w") as z:
            z.writestr("readme.txt", "just a zip")
    _check(tmp_path, model_dir, ["other.keras", "--float32"], 3, "other.keras is a zip without config.json", setup=setup)


def test_unsupported_extension(tmp_path, model_dir):
    def setup(d):
        (d / "model.onnx").write_bytes(b"\x08\x07")
    _check(tmp_path, model_dir, ["model.onnx", "--float32"], 3, "unsupported model file", ".keras, .h5", setup=setup)


def test_int8_without_calibration(tmp_path, model_dir):
    _check(tmp_path, model_dir, ["m.keras", "--int8"], 2, "int8 needs calibration data", "--calib")


def test_empty_image_folder(tmp_path, model_dir):
    _check(tmp_path, model_dir, ["m.keras", "--int8", "--calib", "imgs"], 3, "imgs",
           setup=lambda d: (d / "imgs").mkdir())


def test_unreadable_image(tmp_path, model_dir):
    def setup(d):
        (d / "imgs").mkdir()
        (d / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    _check(tmp_path, model_dir, ["m.keras", "--int8", "--calib", "imgs"], 3, "broken.png", setup=setup)


def test_calibration_shape_mismatch(tmp_path, model_dir):
    def setup(d):
        np.save(d / "x.npy", np.zeros((10, 28, 28, 1), np.float32))
    _check(tmp_path, model_dir, ["m.keras", "--int8", "--calib", "x.npy"], 3, "x.npy", "(28, 28, 1)", setup=setup)


def test_labels_count_mismatch(tmp_path, model_dir):
    def setup(d):
        (d / "labels.txt").write_text("cat\ndog\n")
    _check(tmp_path, model_dir, ["m.keras", "--float32", "--labels", "labels.txt"], 3,
           "2 labels", "10 values", setup=setup)


def test_existing_output_without_force(tmp_path, model_dir):
    def setup(d):
        (d / "m_float32.tflite").write_bytes(b"old")
    _check(tmp_path, model_dir, ["m.keras", "--float32"], 3, "output exists", "--force", setup=setup)
    assert (tmp_path / "m_float32.tflite").read_bytes() == b"old"


@pytest.mark.parametrize("args,words", [
    (["--all", "--int8"], ["--all already includes every post-training recipe"]),
    (["--float32", "--io", "uint8"], ["--io uint8 applies only to int8"]),
    (["--int16x8", "--io", "uint8", "--calib", "digits"], ["int16x8 cannot have uint8"]),
    (["--float32", "--dynamic", "-o", "one.tflite"], ["names one file but 2 recipes"]),
    (["--float32", "--batch", "2", "--input-shape", "1x8x8x1"], ["--batch 2 conflicts with --input-shape"]),
    ([], ["no recipe chosen"]),
    (["--float32", "--scale", "0.5", "--eval", "digits"], ["apply to image folders only"]),
    (["--int8", "--calib", "digits", "--calib-samples", "0"], ["--calib-samples must be a positive whole number"]),
])
def test_conflicting_flags(tmp_path, model_dir, args, words):
    _check(tmp_path, model_dir, ["m.keras", *args], 2, *words)


def test_unsupported_op_names_op_and_layer(tmp_path):
    import keras

    class Weird(keras.layers.Layer):
        def call(self, x):
            import tensorflow as tf
            return tf.math.erfinv(x)

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Weird(name="weird")(inputs)))
    from edgekit.convert.tflite import convert_saved_model
    from edgekit.errors import BadInputError
    from edgekit.quantize import Recipe

    model.export(str(tmp_path / "sm"), format="tf_saved_model", verbose=False,
                 input_signature=[__import__("tensorflow").TensorSpec((1, 4), "float32", name="x")])
    with pytest.raises(BadInputError) as info:
        convert_saved_model(tmp_path / "sm", Recipe("float32"), ["x"])
    assert "Erfinv" in info.value.message and "weird" in info.value.message
    assert "\n" not in info.value.message
