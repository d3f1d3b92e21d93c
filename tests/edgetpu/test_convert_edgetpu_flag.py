"""`edgekit convert --int8 --edgetpu`: the int8 artifact, the check, then the compiled variant
(with FAKE_edgetpu_compiler written by the test), or a clear error without a compiler."""

from __future__ import annotations

import json
import os

import pytest

from edgetpu_fakes import success_log, write_fake_compiler
from edgekit_testing import REPO, assert_clean_error

import subprocess
import sys

keras = pytest.importorskip("keras")


def _cli(*args, cwd, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    env.pop("EDGEKIT_EDGETPU_COMPILER", None)
    env["PATH"] = "/usr/bin:/bin"  # no edgetpu_compiler anywhere
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "edgekit", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def model(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))).save(tmp_path / "m.keras")
    return tmp_path / "m.keras"


def test_edgetpu_needs_an_integer_int8_recipe(model):
    assert_clean_error(_cli("convert", model, "--float16", "--edgetpu", cwd=model.parent), 2, "add the int8 recipe")
    assert_clean_error(_cli("convert", model, "--int8", "--io", "float32", "--calib", "digits", "--edgetpu",
                            cwd=model.parent), 2, "integer inputs/outputs")
    assert_clean_error(_cli("convert", model, "--int8", "--edgetpu-segments", "2", cwd=model.parent), 2, "add --edgetpu")
    assert sorted(p.name for p in model.parent.iterdir()) == ["m.keras"]


def test_missing_compiler_prints_the_check_then_says_how_to_install(model):
    result = _cli("convert", model, "--int8", "--calib", "digits", "--edgetpu", cwd=model.parent)
    assert_clean_error(result, 2, "edgetpu_compiler", "x86-64")
    assert "Edge TPU" in result.stderr  # the check was printed before the error
    assert (model.parent / "m_int8.tflite").is_file()  # the int8 artifact stands on its own
    assert not list(model.parent.glob("*_edgetpu*"))


def test_compiles_with_the_fake_compiler(model, tmp_path):
    log = success_log([("CONV_2D", 1, "Mapped to Edge TPU"), ("FULLY_CONNECTED", 1, "Mapped to Edge TPU"),
                       ("RESHAPE", 1, "Mapped to Edge TPU"), ("SOFTMAX", 1, "Mapped to Edge TPU")])
    fake = write_fake_compiler(tmp_path / "fake", log)
    result = _cli("convert", model, "--int8", "--calib", "digits", "--edgetpu", "--json", cwd=model.parent,
                  env_extra={"EDGEKIT_EDGETPU_COMPILER": str(fake)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["edgetpu"]["compiled"]["version"].startswith("16.0")
    manifest = json.loads((model.parent / "m_int8_edgetpu.json").read_text())
    assert manifest["recipe"]["name"] == "int8-edgetpu"
    assert (model.parent / "m_int8_edgetpu.tflite").is_file()
