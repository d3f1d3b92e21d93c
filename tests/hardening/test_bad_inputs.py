"""The bad-input catalogue: each case runs the real CLI (or the runtime API) and asserts the
exit code, one line naming the problem, no traceback, and nothing left behind.

Device faults (unreachable host, wrong key, ...) live with the remote fixtures in tests/devices.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from edgekit.errors import BadInputError
from edgekit.runtime import load
from edgekit_testing import FIXTURES, assert_clean_error, run_cli

keras = pytest.importorskip("keras")
INT8 = FIXTURES / "int8.tflite"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A few real models shared by the cases: a tiny CNN (.keras/.h5) and Lambda variants."""
    folder = tmp_path_factory.mktemp("bad-input-models")
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x)).save(folder / "cnn.keras")
    keras.models.load_model(folder / "cnn.keras").save(folder / "cnn.h5")
    lam_in = keras.Input((4,))
    keras.Model(lam_in, keras.layers.Lambda(lambda t: t * 2, name="code")(lam_in)).save(folder / "lambda.keras")
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t + 1, name="deep_code")], name="inner")
    outer_in = keras.Input((4,))
    keras.Model(outer_in, inner(outer_in)).save(folder / "nested_lambda.keras")
    import h5py

    (folder / "linked.h5").write_bytes((folder / "cnn.h5").read_bytes())
    with h5py.File(folder / "linked.h5", "a") as handle:
        handle["escape"] = h5py.ExternalLink("/etc/passwd", "/")
    _custom_op_model(folder)
    return folder


def _custom_op_model(folder):
    """A .tflite with a custom op (Erfinv) that the interpreter lacks."""
    import tensorflow as tf

    from edgekit.convert.tflite import convert_saved_model
    from edgekit.quantize import Recipe

    class Erfinv(keras.layers.Layer):
        def call(self, x):
            return tf.math.erfinv(x)

    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, Erfinv()(inputs))
    model.export(str(folder / "sm"), format="tf_saved_model", verbose=False,
                 input_signature=[tf.TensorSpec((1, 4), tf.float32, name="x")])
    converted = convert_saved_model(folder / "sm", Recipe("float32"), ["x"], options={"allow_custom_ops": True})
    (folder / "custom_op.tflite").write_bytes(converted.content)


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


def _images(folder, sizes, mode="RGB"):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(sizes):
        Image.new(mode, size, color=(i * 40) % 255 if mode == "L" else (i * 40 % 255, 20, 30)).save(folder / f"{i}.png")
    return folder


# Each case: (id, setup(d, models) -> argv list, exit code, words in the message)
def _tflite_bytes(data):
    return lambda d, m: ["inspect", _write(d / "bad.tflite", data)]


def _write(path, data):
    path.write_bytes(data)
    return path


def _trunc(fraction, command="inspect"):
    def setup(d, m):
        data = INT8.read_bytes()
        path = _write(d / "cut.tflite", data[: int(len(data) * fraction)])
        return [command, path] + (["--runs", "2", "--min-time", "0"] if command == "bench" else [])
    return setup


def _npz(**arrays):
    def setup(d, m):
        np.savez(d / "data.npz", **arrays)
        return ["bench", INT8, "--data", d / "data.npz", "--runs", "2", "--min-time", "0"]
    return setup


def _calib(writer):
    def setup(d, m):
        spec = writer(d)
        return ["convert", _copy(m / "cnn.keras", d / "cnn.keras"), "--int8", "--calib", spec]
    return setup


def _convert(*flags, model="cnn.keras"):
    def setup(d, m):
        return ["convert", _copy(m / model, d / model), *flags]
    return setup


def _bench(*flags):
    return lambda d, m: ["bench", INT8, *flags]


X = np.random.default_rng(0).random((8, 8, 8, 3), dtype=np.float32)
NAN_X = X.copy()
NAN_X[3, 2, 1, 0] = np.nan

CASES = [
    # model files
    ("empty .keras", lambda d, m: ["convert", _write(d / "empty.keras", b""), "--float32"], 3, ["empty.keras", "not a valid .keras"]),
    ("empty .tflite", _tflite_bytes(b""), 3, ["not a TFLite model"]),
    ("8 bytes with TFL3 magic", _tflite_bytes(b"\x00\x00\x00\x00TFL3"), 3, ["bad.tflite"]),
    ("8 bytes with magic, bench", lambda d, m: ["bench", _write(d / "m.tflite", b"\x10\x00\x00\x00TFL3"), "--runs", "2"], 3, ["m.tflite"]),
    ("truncated at 10%", _trunc(0.10), 3, ["cut.tflite"]),
    ("truncated at 50%, bench", _trunc(0.5, "bench"), 3, ["cut.tflite"]),
    ("truncated at 90%, bench", _trunc(0.9, "bench"), 3, ["cut.tflite"]),
    ("random bytes with magic", _tflite_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8))), 3, ["bad.tflite"]),
    ("random bytes with magic, bench", lambda d, m: ["bench", _write(d / "r.tflite", b"\x1c\x00\x00\x00TFL3" + os.urandom(800)), "--runs", "2"], 3, ["r.tflite"]),
    ("text file as .tflite", _tflite_bytes(b"hello world, I am not a model"), 3, ["not a TFLite model"]),
    ("zip that is not a model", lambda d, m: ["convert", _zip(d / "z.keras"), "--float32"], 3, ["z.keras", "config.json"]),
    ("Lambda layer", _convert("--float32", model="lambda.keras"), 3, ["refusing to load", "Lambda", "--trust-model"]),
    ("nested Lambda", _convert("--float32", model="nested_lambda.keras"), 3, ["deep_code", "Lambda"]),
    ("HDF5 with an external link", _convert("--float32", model="linked.h5"), 3, ["links to other files"]),
    ("custom op the interpreter lacks", lambda d, m: ["bench", _copy(m / "custom_op.tflite", d / "custom_op.tflite"), "--runs", "2"], 3, ["custom_op.tflite", "Erfinv"]),
    ("truncated .keras", lambda d, m: ["convert", _write(d / "t.keras", (m / "cnn.keras").read_bytes()[:3000]), "--float32"], 3, ["t.keras"]),
    ("unsupported extension", lambda d, m: ["convert", _write(d / "model.bin", b"torch"), "--float32"], 3, ["unsupported model file", ".keras"]),
    ("folder without saved_model.pb", lambda d, m: ["convert", _mkdir(d / "folder"), "--float32"], 3, ["saved_model.pb"]),
    ("missing model, bench", _bench_missing := (lambda d, m: ["bench", d / "nope.tflite"]), 3, ["not found"]),
    ("missing model, inspect", lambda d, m: ["inspect", d / "nope.tflite"], 3, ["not found"]),
    # data
    ("empty calibration folder", _calib(lambda d: _mkdir(d / "imgs")), 3, ["imgs"]),
    ("corrupt PNG", _calib(lambda d: _write(_mkdir(d / "imgs") / "x.png", b"\x89PNG\r\n\x1a\nbroken")), 3, ["x.png"]),
    ("NaN in evaluation arrays", _npz(x=NAN_X), 3, ["NaN"]),
    ("NaN in calibration arrays", _calib(lambda d: _save_npy(d / "c.npy", NAN_X)), 3, ["NaN"]),
    ("labels out of range", _npz(x=X, y=np.full(8, 9)), 3, ["labels", "3 classes"]),
    ("labels length mismatch", _npz(x=X, y=np.zeros(5, np.int64)), 3, ["labels"]),
    ("npz without x", _npz(images=X), 3, ["'x'"]),
    ("negative labels", _npz(x=X, y=-np.ones(8, np.int64)), 3, ["negative"]),
    ("label count vs outputs", lambda d, m: ["convert", _copy(m / "cnn.keras", d / "cnn.keras"), "--float32", "--labels", _write(d / "l.txt", b"a\nb\n")], 3, ["2 labels", "3 values"]),
    ("calibration shape mismatch", _calib(lambda d: _save_npy(d / "c.npy", np.zeros((4, 28, 28, 1), np.float32))), 3, ["c.npy", "(n, 8, 8, 3)"]),
    ("empty calibration array", _calib(lambda d: _save_npy(d / "c.npy", np.zeros((0, 8, 8, 3), np.float32))), 3, ["c.npy"]),
    ("object array", _calib(lambda d: _save_npy(d / "c.npy", np.array([{"a": 1}], dtype=object))), 3, ["c.npy"]),
    ("evaluation data shape mismatch", _npz(x=np.zeros((4, 28, 28, 1), np.float32)), 3, ["(n, 8, 8, 3)"]),
    ("empty evaluation folder", lambda d, m: ["bench", INT8, "--data", _mkdir(d / "e")], 3, ["e"]),
    # arguments
    ("conflicting recipe flags", _convert("--all", "--int8"), 2, ["--all already includes"]),
    ("--runs 0", _bench("--runs", "0"), 2, ["--runs must be a whole number from 1"]),
    ("negative --min-time", _bench("--min-time", "-2"), 2, ["--min-time is a number of seconds from 0"]),
    ("negative --min-relative-accuracy", _bench("--min-relative-accuracy", "-0.5"), 2, ["--min-relative-accuracy"]),
    ("negative --calib-samples", _convert("--int8", "--calib", "digits", "--calib-samples", "-1"), 2, ["--calib-samples must be a positive whole number"]),
    ("--batch 0", _convert("--float32", "--batch", "0"), 2, ["--batch must be a positive whole number"]),
    ("garbage --input-shape", _convert("--float32", "--input-shape", "axb"), 2, ["--input-shape", "1x32x32x3"]),
    ("--threads -1", _bench("--threads", "-1"), 2, ["--threads must be a whole number from 1 to 256"]),
    ("--io on a float recipe", _convert("--float16", "--io", "uint8"), 2, ["--io uint8 applies only"]),
    ("unknown --backend", _bench("--backend", "onnx"), 2, ["onnx", "litert"]),
    ("--save-reference without --reference", _bench("--save-reference", "r.npz"), 2, ["--save-reference needs --reference"]),
]


def _zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    return path


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_npy(path, array):
    np.save(path, array, allow_pickle=True)
    return path


def test_the_catalogue_has_at_least_40_cases():
    assert len(CASES) + len(RUNTIME_CASES) >= 40


@pytest.mark.parametrize("name,setup,code,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, models, name, setup, code, words):
    argv = setup(tmp_path, models)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = run_cli(*argv, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before, f"{name}: left behind {set(after) - set(before)}"


RUNTIME_CASES = [
    ("wrong shape", lambda m: m.predict(np.zeros((1, 8, 8), np.float32)), ["expects shape (n, 8, 8, 3)", "received shape (1, 8, 8)"]),
    ("missing batch dimension", lambda m: m.predict(np.zeros((8, 8, 3), np.float32)), ["x[None]"]),
    ("wrong dtype", lambda m: m.predict(np.full((1, 8, 8, 3), "a")), ["takes", "received <U1"]),
    ("integer input for a quantized model", lambda m: m.predict(np.zeros((1, 8, 8, 3), np.int32)), ["takes int8 arrays or floats"]),
    ("wrong number of inputs", lambda m: m.predict([X[:1], X[:1]]), ["1 input", "received 2"]),
    ("unknown input name", lambda m: m.predict({"nope": X[:1]}), ["unknown"]),
    ("NaN input", lambda m: m.predict(NAN_X), ["NaN"]),
]


@pytest.mark.parametrize("name,call,words", RUNTIME_CASES, ids=[c[0] for c in RUNTIME_CASES])
def test_bad_runtime_input(name, call, words):
    model = load(INT8)
    with pytest.raises(BadInputError) as info:
        call(model)
    message = info.value.message
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_images_that_are_converted_not_refused(tmp_path):
    """Grayscale images for an RGB model and mixed sizes are documented conversions: the
    images are converted to RGB and resized, so they are accepted, not errors."""
    data = _images(tmp_path / "data" / "a", [(8, 8), (30, 20)], mode="L")
    _images(tmp_path / "data" / "b", [(12, 9)], mode="RGB")
    result = run_cli("bench", FIXTURES / "float32.tflite", "--data", tmp_path / "data", "--runs", "2",
                     "--min-time", "0", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data"]["n"] == 3
    del data
