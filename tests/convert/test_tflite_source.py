"""A float .tflite in: LiteRT Quantizer recipes, verified against the float .tflite, no TensorFlow.

The models are built in the tests with the flatbuffer object API (tflite_models.py): a digits
classifier fitted on scikit-learn's digits, and variants of it (no signature, float16 weights
with old-style op codes, dynamic shapes, a custom op, NaN outputs, an outlier layer).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edgekit_testing import FIXTURES, REPO, assert_clean_error, run_cli

pytest.importorskip("litert_quantizer", reason='float .tflite input needs: pip install "edgekit[quantize]"')

from tflite_models import digits_cnn, train_digits_weights, with_outlier  # noqa: E402
from edgekit.artifact import read_embedded  # noqa: E402
from edgekit.convert import AccuracyBound, convert, debug  # noqa: E402
from edgekit.errors import BadInputError, EdgekitError, UsageError  # noqa: E402
from edgekit.quantize import Recipe, resolve_recipes  # noqa: E402
from edgekit.runtime import describe, load  # noqa: E402

EVERY = ["float32", "dynamic", "float16", "int8", "int16x8", "weight-only-int8", "weight-only-int4", "blockwise-int4"]
TENSORFLOW = ("tensorflow", "keras", "tf_keras", "tensorflow_model_optimization")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Digits data (calibration/evaluation .npz), trained weights and the float model file."""
    from edgekit.data import digits_split

    folder = tmp_path_factory.mktemp("tflite-digits")
    train, test = digits_split(seed=0, test_fraction=0.25)
    np.savez(folder / "calib.npz", x=train.x, y=train.y)
    np.savez(folder / "eval.npz", x=test.x, y=test.y)
    weights = train_digits_weights(train.x, train.y)
    model = folder / "digits.tflite"
    model.write_bytes(digits_cnn(weights))
    return {"folder": folder, "model": model, "weights": weights, "train": train, "test": test,
            "calib": str(folder / "calib.npz"), "eval": str(folder / "eval.npz")}


BLOCKED_RUN = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked for this test: " + name)
sys.meta_path.insert(0, Block())
sys.path.insert(0, {tests!r})
import numpy as np
from tflite_models import digits_cnn, train_digits_weights
from edgekit.convert import convert
from edgekit.data import digits_split
from edgekit.errors import EdgekitError
from edgekit.quantize import Recipe, resolve_recipes
folder = sys.argv[1]
train, test = digits_split(seed=0, test_fraction=0.25)
np.savez(folder + "/calib.npz", x=train.x, y=train.y)
np.savez(folder + "/eval.npz", x=test.x, y=test.y)
open(folder + "/made.tflite", "wb").write(digits_cnn(train_digits_weights(train.x, train.y)))
images = np.load({fixtures!r} + "/expected.npz")["images"]
np.save(folder + "/images.npy", np.concatenate([images, images[::-1]]))
recipes = resolve_recipes({every!r}) + [Recipe("int8", "float32"), Recipe("int8", "uint8"), Recipe("int16x8", "float32")]
out = {{}}
def run(name, model, recipes, **data):
    try:
        result = convert(model, recipes, output=folder + "/" + name, **data)
        out[name] = [dict(a.manifest.to_json(), path=str(a.path)) for a in result.artifacts]
    except EdgekitError as exc:
        out[name] = {{"error": exc.message, "exit_code": exc.exit_code}}
import os
for name in ("made", "made_io0", "made_io1", "made_io2", "fixture", "fixture_blockwise"):
    os.mkdir(folder + "/" + name)
run("made", folder + "/made.tflite", recipes[:8], calib=folder + "/calib.npz", eval=folder + "/eval.npz")
for i, recipe in enumerate(recipes[8:]):  # one file name per recipe: one I/O type per run
    run(f"made_io{{i}}", folder + "/made.tflite", [recipe], calib=folder + "/calib.npz", eval=folder + "/eval.npz")
fixture = {fixtures!r} + "/float32.tflite"
run("fixture", fixture, [r for r in recipes[:8] if r.name != "blockwise-int4"], calib=folder + "/images.npy", calib_samples=12)
run("fixture_blockwise", fixture, [Recipe("blockwise-int4")], calib=folder + "/images.npy", calib_samples=12)
out["loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def blocked_run(tmp_path_factory):
    """Every recipe on a float .tflite made here and on the checked-in fixture, in a process
    where importing TensorFlow (or Keras) fails."""
    folder = tmp_path_factory.mktemp("no-tensorflow")
    script = BLOCKED_RUN.format(blocked=TENSORFLOW, tests=str(REPO / "tests" / "convert"), fixtures=str(FIXTURES),
                                every=EVERY)
    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, cwd=folder,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(folder)}, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), folder


def _by_recipe(manifests):
    return {(m["recipe"]["name"], m["recipe"]["io"]): m for m in manifests}


def test_every_recipe_on_a_made_float_tflite_with_tensorflow_blocked(blocked_run):
    out, _ = blocked_run
    assert out["loaded"] == []
    made = _by_recipe(out["made"] + out["made_io0"] + out["made_io1"] + out["made_io2"])
    assert {name for name, _ in made} == set(EVERY)
    for (name, io), m in made.items():
        assert m["recipe"]["engine"] == ("source" if name == "float32" else "litert-quantizer"), name
        assert m["verification"]["data"]["kind"] == "eval" and m["verification"]["samples"] == 450
        loaded = load(m["path"])
        assert loaded.manifest is not None and loaded.manifest.recipe.name == name
        assert loaded.inputs[0].dtype == loaded.outputs[0].dtype == io, (name, io)
    float32 = made["float32", "float32"]["verification"]
    assert float32["max_abs_error"] == 0 and float32["top1_agreement"] == 1.0
    # Measured on 450 held-out digits: 8-bit recipes agree with the float model on >= 98.9%,
    # the 4-bit ones on >= 92.9% (weight-only) and 97.6% (blockwise).
    for key in [("dynamic", "float32"), ("float16", "float32"), ("int8", "int8"), ("int8", "uint8"), ("int8", "float32"),
                ("int16x8", "int16"), ("int16x8", "float32"), ("weight-only-int8", "float32")]:
        assert made[key]["verification"]["top1_agreement"] >= 0.97, key
    assert made["weight-only-int4", "float32"]["verification"]["top1_agreement"] >= 0.85
    assert made["blockwise-int4", "float32"]["verification"]["top1_agreement"] >= 0.9
    ratio = {name: m["size"]["ratio_vs_float32"] for (name, _), m in made.items()}
    assert ratio["int8"] < 0.3 and ratio["weight-only-int8"] < 0.3 and ratio["float16"] < 0.55
    assert ratio["weight-only-int4"] < 0.16
    # blockwise-int4 covers the fully connected layers; the convolution keeps float weights, and says so
    assert "CONV_2D kept float32 weights" in made["blockwise-int4", "float32"]["note"]


def test_every_recipe_on_the_checked_in_fixture_with_tensorflow_blocked(blocked_run):
    out, folder = blocked_run
    fixture = _by_recipe(out["fixture"])
    assert {name for name, _ in fixture} == set(EVERY) - {"blockwise-int4"}
    for (name, _), m in fixture.items():
        assert m["source"]["file"] == "float32.tflite" and m["source"]["format"] == "tflite"
        assert m["verification"]["data"]["kind"] == "held-out calibration data"
        assert m["verification"]["cosine"] > 0.99, name
    assert describe(open(fixture["int8", "int8"]["path"], "rb").read()).fully_integer
    # Its one fully connected layer has 4 inputs, no block of 32: blockwise-int4 changes nothing,
    # which is an error naming the ops left in float, and nothing is written.
    error = out["fixture_blockwise"]
    assert error["exit_code"] == 3 and "changed nothing" in error["error"]
    assert "CONV_2D" in error["error"] and "FULLY_CONNECTED" in error["error"]
    assert not any((folder / "fixture_blockwise").iterdir())


def test_a_file_from_elsewhere_float16_weights_old_op_codes_no_signature(digits, tmp_path):
    """How third-party "float" files are often shipped: LiteRT Quantizer on the raw bytes sees
    every op as an ADD (it reads the new op-code field only) and no float weights, so its weight
    recipes change nothing; edgekit rewrites the op codes, widens the float16 weights and adds
    a signature first, and every recipe then quantizes and runs."""
    from edgekit.quantize import litert

    raw = digits_cnn(digits["weights"], signature=False, float16=True, old_opcodes=True)
    with pytest.raises(BadInputError, match="changed nothing"):
        litert.quantize(raw, Recipe("weight-only-int8"))
    model = tmp_path / "third_party.tflite"
    model.write_bytes(raw)
    result = convert(model, resolve_recipes(["dynamic", "int8", "weight-only-int8"]), calib=digits["calib"],
                     eval=digits["eval"])
    by_name = {a.recipe.name: a for a in result.artifacts}
    assert "a signature added" in result.notes[0] and "float16 weight tensor(s) widened" in result.notes[0]
    for name, artifact in by_name.items():
        assert artifact.verification.top1_agreement >= 0.97, name
        assert artifact.manifest.size.size_bytes < 0.6 * len(raw), name  # smaller than the float16 file
    assert describe(by_name["int8"].path.read_bytes()).fully_integer


def test_max_drop_keeps_the_op_int8_hurts_in_float(digits, tmp_path):
    """One hidden unit 1000x larger stretches the int8 range of its layer: plain int8 loses most
    of the accuracy; `max_drop` keeps that layer (and the op reading it) in float through
    LiteRT Quantizer's per-op recipe entries."""
    model = tmp_path / "outlier.tflite"
    model.write_bytes(digits_cnn(with_outlier(digits["weights"], 1000.0, digits["train"].x)))
    result = convert(model, [Recipe("int8")], calib=digits["calib"], eval=digits["eval"],
                     bound=AccuracyBound(max_drop=1.0))
    (artifact,) = result.artifacts
    record, v = artifact.manifest.selective, artifact.verification
    assert record["plain_int8"]["accuracy"] < 0.5
    assert record["bound_holds"] and record["float_layers"][0] == "dense"
    assert (v.reference_accuracy - v.accuracy) * 100 <= 1.0
    assert "FULLY_CONNECTED" in record["float_ops"] and artifact.manifest.recipe.engine == "litert-quantizer"
    assert read_embedded(artifact.path.read_bytes()).selective["float_layers"] == record["float_layers"]


def test_debug_ranks_the_outlier_layer_first(digits, tmp_path):
    model = tmp_path / "outlier.tflite"
    model.write_bytes(digits_cnn(with_outlier(digits["weights"], 1000.0, digits["train"].x)))
    report = debug(model, calib=digits["calib"], eval=digits["eval"], top=1)
    assert report.layers[0].name == "dense" and report.layers[0].relative_error > 0.9
    assert report.int8.accuracy < 0.5
    (effect,) = report.effects
    assert effect.layer == "dense" and effect.accuracy >= report.int8.reference_accuracy - 0.01


def test_a_dynamic_batch_becomes_1_and_input_shape_fixes_dynamic_sizes(digits, tmp_path):
    batch = tmp_path / "dynamic_batch.tflite"
    batch.write_bytes(digits_cnn(digits["weights"], dynamic="batch"))
    (artifact,) = convert(batch, [Recipe("int8")], calib=digits["calib"]).artifacts
    assert load(artifact.path).inputs[0].shape == (1, 8, 8, 1)
    assert not describe(artifact.path.read_bytes()).dynamic_shapes
    image = tmp_path / "dynamic_image.tflite"
    image.write_bytes(digits_cnn(digits["weights"], dynamic="image"))
    (artifact,) = convert(image, [Recipe("float32")], calib=digits["calib"], input_shape="1x8x8x1").artifacts
    assert artifact.verification.max_abs_error == 0
    assert not describe(artifact.path.read_bytes()).dynamic_shapes
    with pytest.raises(UsageError, match="does not fit"):
        convert(image, [Recipe("float32")], input_shape="1x8x8x3", output=tmp_path / "other.tflite")


def _bad_model(kind: str, digits, folder):
    weights = digits["weights"]
    models = {
        "dynamic": lambda: digits_cnn(weights, dynamic="image"),
        "custom": lambda: digits_cnn(weights, custom_op=True),
        "nan": lambda: digits_cnn(weights, log_input=True),
    }
    path = folder / f"{kind}.tflite"
    if kind == "quantized":
        path.write_bytes((FIXTURES / "int8.tflite").read_bytes())
    else:
        path.write_bytes(models[kind]())
    return path


@pytest.mark.parametrize("kind, args, code, words", [
    ("dynamic", ["--int8"], 3, ["input 'image' has dynamic shape [-1, -1, -1, 1]", "--input-shape"]),
    ("custom", ["--int8"], 3, ["custom op(s) MyCustomOp", "builtin ops only"]),
    ("nan", ["--int8"], 3, ["NaN or infinite", "calibration samples"]),
    ("quantized", ["--dynamic"], 3, ["already quantized (full integer: int8 activations", "float .tflite it was made from"]),
    ("custom", ["--int8", "--layout", "nchw"], 2, ["--layout applies to PyTorch models"]),
    ("custom", ["--qat", "--train-data", "digits"], 2, ["qat-int8 fine-tunes a Keras model"]),
])
def test_bad_float_tflite_inputs_one_line_nothing_written(kind, args, code, words, digits, tmp_path):
    model = _bad_model(kind, digits, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("convert", model, *args, "--calib", digits["calib"], "-o", out, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert not any(out.iterdir())


MISSING = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {module!r}:
            raise ImportError("blocked for this test: " + name)
sys.meta_path.insert(0, Block())
from edgekit.cli import main
sys.argv = ["edgekit", *sys.argv[1:]]
main()
"""


def test_a_missing_quantize_extra_names_the_pip_line(digits, tmp_path):
    script = MISSING.format(module="litert_quantizer")
    result = subprocess.run([sys.executable, "-c", script, "convert", str(digits["model"]), "--int8", "--calib",
                             digits["calib"], "-o", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert_clean_error(result, 2, 'pip install "edgekit[quantize]"', "litert_quantizer")
    assert not any(tmp_path.iterdir())
    # float32 alone needs no quantizer: the float .tflite is the artifact
    result = subprocess.run([sys.executable, "-c", script, "convert", str(digits["model"]), "--float32", "-o",
                             str(tmp_path), "--json"], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["artifacts"][0]["engine"] == "source"


def test_artifacts_go_through_inspect_bench_edgetpu_check_and_debug(digits, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("convert", digits["model"], "--int8", "--io", "uint8", "--weight-only-int4", "--calib",
                     digits["calib"], "--eval", digits["eval"], "-o", out, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    converted = json.loads(result.stdout)
    assert [(a["recipe"], a["engine"]) for a in converted["artifacts"]] == [
        ("int8", "litert-quantizer"), ("weight-only-int4", "litert-quantizer")]
    int8 = out / "digits_int8.tflite"
    inspected = json.loads(run_cli("inspect", int8, "--json", cwd=tmp_path).stdout)
    assert inspected["manifest"]["recipe"]["engine"] == "litert-quantizer"
    bench = run_cli("bench", int8, out / "digits_weight-only-int4.tflite", "--data", digits["eval"], "--reference",
                    digits["model"], "--runs", "5", "--min-time", "0", "--json", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    accuracy = [m["comparison"]["top1_agreement"] for m in json.loads(bench.stdout)["models"]]
    assert min(accuracy) >= 0.9
    check = run_cli("edgetpu", "check", int8, "--json", cwd=tmp_path)
    assert check.returncode in (0, 5) and json.loads(check.stdout)["schema"] == "edgekit.edgetpu-check/1"
    report = run_cli("debug", digits["model"], "--calib", digits["calib"], "--top", "1", "--json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["layers"][0]["rank"] == 1


def test_recipe_rules_are_checked_before_any_model_loads(digits):
    with pytest.raises(UsageError, match="cannot have int8 inputs/outputs"):
        Recipe("weight-only-int4", "int8")
    with pytest.raises(UsageError, match="`options` set TFLite converter attributes"):
        convert(digits["model"], [Recipe("dynamic")], options={"allow_custom_ops": True})
    with pytest.raises(EdgekitError, match="custom_objects"):
        convert(digits["model"], [Recipe("dynamic")], custom_objects=__file__)
