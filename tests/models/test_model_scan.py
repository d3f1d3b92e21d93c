"""The static safety scan refuses code-carrying or file-reaching model files before Keras runs."""

from __future__ import annotations

import json
import stat
import zipfile

import numpy as np
import pytest

from edgekit.errors import BadInputError
from edgekit.models import load_model
from edgekit.models.scan import scan_model_file
from edgekit_testing import assert_clean_error, run_cli

keras = pytest.importorskip("keras")


def _plain(tmp_path, name="plain.keras"):
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    path = tmp_path / name
    model.save(path)
    return path, model


def _rewrite(path, out, edit=None, extra=()):
    """Copy a .keras zip, editing config.json and adding raw members."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "config.json" and edit:
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            dst.writestr(info, data)
        for info, data in extra:
            dst.writestr(info, data)
    return out


def _lambda_model():
    inputs = keras.Input((4,), name="x")
    return keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="double")(inputs))


def test_plain_model_passes_the_scan(tmp_path):
    path, _ = _plain(tmp_path)
    report = scan_model_file(path, "keras")
    assert "Dense" in report.classes and report.layers >= 2


def test_mobilenetv2_passes_the_scan(tmp_path):
    path = tmp_path / "mnv2.keras"
    keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35).save(path)
    assert "DepthwiseConv2D" in scan_model_file(path, "keras").classes


def test_lambda_is_refused_and_trust_model_lifts_it(tmp_path):
    path = tmp_path / "lam.keras"
    _lambda_model().save(path)
    with pytest.raises(BadInputError, match=r"refusing to load lam.keras: layer 'double' \(Lambda\) runs arbitrary Python code"):
        load_model(path)
    source = load_model(path, trust=True)
    assert "sha256" in source.notes[0]
    np.testing.assert_allclose(source.predict([np.ones((1, 4), np.float32)])[0], 2.0)


def test_nested_lambda_is_refused(tmp_path):
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t + 1, name="hidden_code")], name="inner")
    inputs = keras.Input((4,))
    outer = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    outer.save(tmp_path / "nested.keras")
    with pytest.raises(BadInputError, match="hidden_code"):
        scan_model_file(tmp_path / "nested.keras", "keras")


def test_foreign_module_needs_custom_objects(tmp_path):
    module = tmp_path / "my_layers.py"
    module.write_text(
        "import keras\n"
        "@keras.saving.register_keras_serializable(package='mine')\n"
        "class Twice(keras.layers.Layer):\n"
        "    def call(self, x):\n"
        "        return x * 2\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("my_layers", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    inputs = keras.Input((3,))
    keras.Model(inputs, mod.Twice(name="twice")(inputs)).save(tmp_path / "custom.keras")
    with pytest.raises(BadInputError, match="outside Keras.*`custom_objects`"):
        load_model(tmp_path / "custom.keras")
    source = load_model(tmp_path / "custom.keras", custom_objects=module)
    np.testing.assert_allclose(source.predict([np.ones((1, 3), np.float32)])[0], 2.0)


@pytest.mark.parametrize("value,words", [
    ("/etc/passwd", "points at a file"),
    ("https://example.invalid/vocab.txt", "points at a file or URL"),
    ("../../secrets.txt", "points at a file"),
    ("C:\\\\temp\\\\vocab.txt", "points at a file"),
])
def test_file_and_url_arguments_are_refused(tmp_path, value, words):
    path, _ = _plain(tmp_path)

    def edit(config):
        config["config"]["layers"][1]["config"]["vocabulary"] = value

    bad = _rewrite(path, tmp_path / "bad.keras", edit)
    with pytest.raises(BadInputError, match=words):
        scan_model_file(bad, "keras")


def test_zip_member_tricks_are_refused(tmp_path):
    path, _ = _plain(tmp_path)
    cases = {
        "parent": (zipfile.ZipInfo("../evil.txt"), b"x"),
        "absolute": (zipfile.ZipInfo("/etc/evil.txt"), b"x"),
    }
    link = zipfile.ZipInfo("assets/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    cases["link"] = (link, b"/etc/passwd")
    bomb = zipfile.ZipInfo("assets/zeros.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    cases["bomb"] = (bomb, bytes(4 * 2**20))
    words = {"parent": "parent-relative", "absolute": "absolute", "link": "symbolic link", "bomb": "zip bomb"}
    for name, member in cases.items():
        bad = _rewrite(path, tmp_path / f"{name}.keras", extra=[member])
        with pytest.raises(BadInputError, match=words[name]):
            scan_model_file(bad, "keras")


def test_too_many_members(tmp_path, monkeypatch):
    import edgekit.models.scan as scan

    path, _ = _plain(tmp_path)
    monkeypatch.setattr(scan, "MAX_MEMBERS", 5)
    bad = _rewrite(path, tmp_path / "many.keras", extra=[(zipfile.ZipInfo(f"a{i}"), b"") for i in range(6)])
    with pytest.raises(BadInputError, match="members"):
        scan_model_file(bad, "keras")


def test_h5_external_link_and_weights_only(tmp_path):
    import h5py

    _, model = _plain(tmp_path)
    model.save(tmp_path / "m.h5")
    scan_model_file(tmp_path / "m.h5", "h5")
    with h5py.File(tmp_path / "m.h5", "a") as handle:
        handle["escape"] = h5py.ExternalLink("/etc/passwd", "/")
    with pytest.raises(BadInputError, match="links to other files"):
        scan_model_file(tmp_path / "m.h5", "h5")
    model.save_weights(tmp_path / "only.weights.h5")
    (tmp_path / "only.h5").write_bytes((tmp_path / "only.weights.h5").read_bytes())
    with pytest.raises(BadInputError, match="weights-only"):
        scan_model_file(tmp_path / "only.h5", "h5")


def test_h5_lambda_is_refused(tmp_path):
    _lambda_model().save(tmp_path / "lam.h5")
    with pytest.raises(BadInputError, match="Lambda"):
        scan_model_file(tmp_path / "lam.h5", "h5")


def test_cli_refuses_then_trusts(tmp_path):
    _lambda_model().save(tmp_path / "lam.keras")
    refused = run_cli("convert", "lam.keras", "--float32", cwd=tmp_path)
    assert_clean_error(refused, 3, "refusing to load lam.keras", "Lambda", "--trust-model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lam.keras"]
    trusted = run_cli("convert", "lam.keras", "--float32", "--trust-model", cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr
    assert "--trust-model" in trusted.stderr and "sha256" in trusted.stderr
    assert (tmp_path / "lam_float32.tflite").is_file()
