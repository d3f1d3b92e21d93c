"""`edgekit convert --qat` and the accuracy-bound flags through the real CLI: a QAT run on
class-folder images, and every error (exit code, one line, no traceback, nothing written)."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
from PIL import Image

from edgekit_testing import assert_clean_error, run_cli
from quantize_test_models import keras

pytestmark = pytest.mark.convert

SUBCLASS_MODULE = """
import keras

class Tiny(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flat = keras.layers.Flatten()
        self.head = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.head(self.flat(x))
"""


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _image_folder(root, classes, per_class=12, seed=0):
    """8x8 grayscale PNGs, one subfolder per class; class i is brighter than class i-1."""
    rng = np.random.default_rng(seed)
    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(per_class):
            level = 40 + 170 * i / max(1, len(classes) - 1)
            pixels = np.clip(rng.normal(level, 25, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(root / name / f"{j}.png")
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qatcli")
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="probs")(x)).save(folder / "two.keras")
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.LayerNormalization(name="norm")(x)
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x)).save(folder / "norm.keras")
    module = folder / "tiny_layers.py"
    module.write_text(SUBCLASS_MODULE)
    spec = importlib.util.spec_from_file_location("tiny_layers", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    tiny = loaded.Tiny()
    tiny(np.zeros((1, 8, 8, 1), np.float32))
    tiny.save(folder / "tiny.keras")
    np.save(folder / "x.npy", np.random.default_rng(0).random((20, 8, 8, 1), dtype=np.float32))
    return folder


def _check(tmp_path, models, args, code, *words, env=None):
    for name in ("two.keras", "norm.keras", "tiny.keras", "tiny_layers.py", "x.npy"):
        (tmp_path / name).write_bytes((models / name).read_bytes())
    before = _files(tmp_path)
    result = run_cli("convert", *args, cwd=tmp_path) if env is None else _run_with_env(tmp_path, args, env)
    message = assert_clean_error(result, code, *words)
    assert _files(tmp_path) == before, "a failed convert must write nothing"
    return message


def _run_with_env(cwd, args, env):
    import subprocess
    import sys

    from edgekit_testing import REPO

    full = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    full.update(env, PYTHONPATH=str(REPO), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "edgekit", "convert", *map(str, args)], cwd=cwd,
                          env=full, capture_output=True, text=True, timeout=600)


def test_qat_on_class_folders_writes_a_verified_artifact(tmp_path, models):
    (tmp_path / "two.keras").write_bytes((models / "two.keras").read_bytes())
    _image_folder(tmp_path / "train", ["dark", "light"])
    _image_folder(tmp_path / "val", ["dark", "light"], per_class=4, seed=1)
    result = run_cli("convert", "two.keras", "--qat", "--train-data", "train", "--val-data", "val",
                     "--eval", "val", "--epochs", "2", "--batch-size", "8", "--learning-rate", "0.001",
                     "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "QAT epoch 1/2: loss" in result.stderr and "QAT epoch 2/2" in result.stderr
    (artifact,) = json.loads(result.stdout)["artifacts"]
    assert artifact["recipe"] == "qat-int8" and artifact["io"] == "int8"
    manifest = json.loads((tmp_path / "two_qat-int8.json").read_text())
    assert manifest["labels"] == ["dark", "light"]
    training = manifest["training"]
    assert training["settings"]["epochs"] == 2 and training["settings"]["batch_size"] == 8
    assert training["train_data"]["class_names"] == ["dark", "light"] and training["train_data"]["n"] == 24
    assert len(training["history"]["loss"]) == training["epochs_run"] and "val_loss" in training["history"]
    assert training["bridge_max_abs_error"] <= 1e-5 and training["seconds"] > 0
    assert manifest["calibration"] is None and manifest["recipe"]["name"] == "qat-int8"


def test_subclassed_model_with_qat(tmp_path, models):
    _check(tmp_path, models, ["tiny.keras", "--qat", "--train-data", "digits", "--custom-objects",
                              "tiny_layers.py"], 3, "subclassed model", "post-training int8 recipe")


def test_unknown_layer_with_qat(tmp_path, models):
    _check(tmp_path, models, ["norm.keras", "--qat", "--train-data", "digits"], 3,
           "layer 'norm' (LayerNormalization) is not supported", "int8 recipe")


def test_labels_missing(tmp_path, models):
    _check(tmp_path, models, ["two.keras", "--qat", "--train-data", "x.npy"], 3,
           "--train-data x.npy has no labels", ".npz with x and y")


def test_train_and_val_classes_differ(tmp_path, models):
    _image_folder(tmp_path / "train", ["cat", "dog"])
    _image_folder(tmp_path / "val", ["cat", "fox"], per_class=2)
    _check(tmp_path, models, ["two.keras", "--qat", "--train-data", "train", "--val-data", "val"], 3,
           "--train-data classes ['cat', 'dog'] differ from --val-data classes ['cat', 'fox']")


def test_multiworker_without_tf_config(tmp_path, models):
    _check(tmp_path, models, ["two.keras", "--qat", "--train-data", "digits", "--strategy",
                              "multiworker"], 2, "needs the TF_CONFIG environment variable", env={})


@pytest.mark.parametrize("args,words", [
    (["--qat"], ["quantization-aware training needs --train-data"]),
    (["--int8", "--calib", "digits", "--epochs", "3"], ["--epochs apply to quantization-aware training", "add --qat"]),
    (["--qat", "--train-data", "digits", "--strategy", "tpu"], ["'--strategy'", "'tpu' is not one of 'default'"]),
    (["--qat", "--train-data", "digits", "--learning-rate", "5"], ["--learning-rate must be between 0 and 1"]),
    (["--int8", "--calib", "digits", "--max-drop", "1"], ["need --eval data"]),
    (["--float16", "--eval", "digits", "--max-drop", "1"], ["bound the int8 recipe", "add the int8 recipe"]),
    (["--int8", "--calib", "digits", "--eval", "digits", "--max-drop", "-1"], ["--max-drop is in accuracy points"]),
    (["--int8", "--calib", "digits", "--best-effort"], ["--best-effort applies with --max-drop"]),
])
def test_conflicting_flags(tmp_path, models, args, words):
    _check(tmp_path, models, ["two.keras", *args], 2, *words)


def test_max_drop_needs_labelled_eval(tmp_path, models):
    _check(tmp_path, models, ["two.keras", "--int8", "--calib", "x.npy", "--eval", "x.npy", "--max-drop",
                              "1"], 3, "--eval data x.npy has no labels", "--min-agreement")


def test_debug_needs_calibration(tmp_path, models):
    (tmp_path / "two.keras").write_bytes((models / "two.keras").read_bytes())
    assert_clean_error(run_cli("debug", "two.keras", cwd=tmp_path), 2, "needs calibration data", "--calib")
