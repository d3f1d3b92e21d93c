"""End-to-end conversion of models built in the tests, with measured properties asserted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_test_models import functional_model, sequential_model, subclassed_model, weight_heavy_model
from edgekit.convert import convert
from edgekit.quantize import RECIPE_NAMES, Recipe, resolve_recipes
from edgekit.runtime import load
from edgekit.artifact import read_embedded
from edgekit.runtime.tflite_file import describe

pytestmark = pytest.mark.convert

ALL = [Recipe(name) for name in RECIPE_NAMES]


def _save(model, folder, name):
    path = folder / name
    model.save(path)
    return path


@pytest.mark.parametrize("build", [sequential_model, functional_model, subclassed_model],
                         ids=["sequential", "functional", "subclassed"])
def test_every_recipe_converts_and_float32_matches_keras(tmp_path, build):
    model = build()
    path = _save(model, tmp_path, "m.keras")
    shape = (16, *model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else (16, 12)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    np.save(tmp_path / "calib.npy", x)
    # The subclassed model's class lives in a test module, outside Keras: the safety scan
    # refuses it unless the user vouches for it.
    trust = build is subclassed_model
    result = convert(path, ALL, calib=str(tmp_path / "calib.npy"), calib_samples=12, trust_model=trust)
    by_name = {a.recipe.name: a for a in result.artifacts}
    assert set(by_name) == set(RECIPE_NAMES)

    # float32 through edgekit.runtime matches Keras to 1e-5 on fresh inputs.
    runtime = load(by_name["float32"].path)
    fresh = np.random.default_rng(1).random(shape, dtype=np.float32)
    expected = np.asarray(model(fresh, training=False))
    np.testing.assert_allclose(runtime.predict(fresh), expected, atol=1e-5, rtol=0)
    assert by_name["float32"].verification.max_abs_error <= 1e-5

    # Quantized I/O types are the recipe's.
    assert load(by_name["int8"].path).inputs[0].dtype == "int8"
    assert load(by_name["int8"].path).outputs[0].dtype == "int8"
    assert load(by_name["int16x8"].path).inputs[0].dtype == "int16"
    for name in ("dynamic", "float16"):
        assert load(by_name[name].path).inputs[0].dtype == "float32"
    assert describe(by_name["int8"].path.read_bytes()).fully_integer
    # Held-out calibration data (4 samples) was the evaluation set.
    assert result.evaluation.kind == "held-out calibration data"
    assert result.evaluation.samples == 4


def test_manifest_is_written_beside_and_embedded(tmp_path):
    path = _save(functional_model(), tmp_path, "net.keras")
    x = np.random.default_rng(0).random((30, 8, 8, 1), dtype=np.float32)
    np.savez(tmp_path / "calib.npz", x=x, y=np.arange(30) % 10)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"class{i}" for i in range(10)))
    result = convert(path, [Recipe("int8", "uint8")], calib=str(tmp_path / "calib.npz"),
                     calib_samples=20, labels=labels)
    (artifact,) = result.artifacts
    assert artifact.path == tmp_path / "net_int8.tflite"
    sidecar = json.loads((tmp_path / "net_int8.json").read_text())
    embedded = read_embedded(artifact.path.read_bytes()).to_json()
    assert sidecar.pop("artifact")["sha256"] and embedded == sidecar | {"artifact": None}
    assert sidecar["schema"] == "edgekit.manifest/2"
    assert sidecar["recipe"] == {"name": "int8", "io": "uint8", "weights": "int8", "activations": "int8",
                                 "engine": "tflite-converter"}
    assert sidecar["source"]["file"] == "net.keras" and len(sidecar["source"]["sha256"]) == 64
    assert sidecar["inputs"][0]["dtype"] == "uint8" and sidecar["inputs"][0]["scale"] > 0
    assert sidecar["labels"][3] == "class3"
    assert sidecar["calibration"]["n"] == 20
    assert sidecar["verification"]["samples"] == 10
    assert sidecar["versions"]["tensorflow"].startswith("2.")
    assert 0 < sidecar["size"]["ratio_vs_float32"] < 1
    # The runtime finds the manifest inside the .tflite even without the sidecar.
    (tmp_path / "net_int8.json").unlink()
    assert load(artifact.path).manifest.recipe.io == "uint8"


def test_int8_file_is_at_most_035_of_float32_for_a_weight_heavy_model(tmp_path):
    path = _save(weight_heavy_model(), tmp_path, "dense.keras")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32))
    result = convert(path, resolve_recipes(["float32", "int8", "float16", "dynamic"]),
                     calib=str(tmp_path / "calib.npy"))
    sizes = {a.recipe.name: a.path.stat().st_size for a in result.artifacts}
    assert sizes["int8"] <= 0.35 * sizes["float32"], sizes
    assert sizes["dynamic"] <= 0.35 * sizes["float32"], sizes
    assert 0.4 <= sizes["float16"] / sizes["float32"] <= 0.6, sizes


def test_digits_int8_accuracy_within_1_5_points_of_float(digits_model, tmp_path):
    result = convert(digits_model["model"], [Recipe("int8"), Recipe("int16x8")],
                     calib=str(digits_model["calib"]), eval=str(digits_model["eval"]),
                     output=tmp_path)
    assert result.reference_accuracy > 0.9
    for artifact in result.artifacts:
        v = artifact.verification
        assert v.samples == 450 and v.data.kind == "eval"
        assert abs(v.accuracy_delta) <= 0.015, (artifact.recipe.name, v)
        assert v.top1_agreement >= 0.97
    # Independent check of the runtime numbers against the labels.
    model = load(result.artifacts[0].path)
    test = digits_model["test"]
    accuracy = float(np.mean(model.predict(test.x).argmax(1) == test.y))
    assert accuracy == pytest.approx(result.artifacts[0].verification.accuracy)


def test_fixed_batch_and_input_shape(tmp_path):
    path = _save(sequential_model(), tmp_path, "seq.keras")
    result = convert(path, [Recipe("float32")], batch=4)
    assert load(result.artifacts[0].path).inputs[0].shape == (4, 6, 6, 2)
    assert result.evaluation.kind == "synthetic"
    sub = _save(subclassed_model(), tmp_path, "sub.keras")
    result = convert(sub, [Recipe("float32")], input_shape="2x12", output=tmp_path / "sub2.tflite",
                     trust_model=True)
    assert any("`trust_model`" in note and "sha256" in note for note in result.notes)
    assert load(tmp_path / "sub2.tflite").inputs[0].shape == (2, 12)


def test_h5_and_savedmodel_sources(tmp_path):
    model = functional_model()
    h5 = tmp_path / "legacy.h5"
    model.save(h5)
    result = convert(h5, [Recipe("float32")])
    assert result.source.format == "h5"
    assert result.artifacts[0].verification.max_abs_error <= 1e-5

    import tensorflow as tf

    saved = tmp_path / "exported"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    result = convert(saved, [Recipe("float32"), Recipe("int8")], calib="digits")
    assert result.source.format == "savedmodel"
    assert (tmp_path / "exported_int8.tflite").is_file()
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(load(tmp_path / "exported_float32.tflite").predict(x),
                               np.asarray(model(x)), atol=1e-5)
    del tf


def test_custom_objects_module(tmp_path):
    module = tmp_path / "layers.py"
    module.write_text(
        "import keras\n"
        "class Scale(keras.layers.Layer):\n"
        "    def __init__(self, factor=2.0, **kw):\n"
        "        super().__init__(**kw); self.factor = factor\n"
        "    def call(self, x): return x * self.factor\n"
        "    def get_config(self): return {**super().get_config(), 'factor': self.factor}\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_layers", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(mod.Scale(3.0)(inputs)))
    path = _save(model, tmp_path, "custom.keras")
    result = convert(path, [Recipe("float32")], custom_objects=module)
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(load(result.artifacts[0].path).predict(x), np.asarray(model(x)), atol=1e-5)


def test_two_inputs_in_non_alphabetical_order(tmp_path):
    """A .tflite orders signature inputs by name; verification must still pair them right."""
    import keras

    zeta, alpha = keras.Input((4,), name="zeta"), keras.Input((3,), name="alpha")
    merged = keras.layers.Concatenate()([keras.layers.Dense(5)(zeta), keras.layers.Dense(5)(alpha)])
    model = keras.Model([zeta, alpha], [keras.layers.Dense(2, name="first")(merged),
                                        keras.layers.Dense(3, name="second")(merged)])
    path = _save(model, tmp_path, "two.keras")
    result = convert(path, [Recipe("float32")])
    verification = result.artifacts[0].verification
    assert verification.max_abs_error <= 1e-5
    assert [o.max_abs_error <= 1e-5 for o in verification.per_output] == [True, True]
    runtime = load(result.artifacts[0].path)
    z, a = np.ones((1, 4), np.float32), np.full((1, 3), 0.5, np.float32)
    out = runtime.predict({"zeta": z, "alpha": a})
    expected = model([z, a])
    np.testing.assert_allclose(out["output_0"], np.asarray(expected[0]), atol=1e-5)
    np.testing.assert_allclose(out["output_1"], np.asarray(expected[1]), atol=1e-5)
