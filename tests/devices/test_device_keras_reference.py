"""`bench --device --reference model.keras`: TensorFlow runs on the host only; the device gets
the reference outputs as a saved-reference .npz and compares exactly as a local run does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit_testing import run_cli
from standin_pi import leftovers

pytestmark = [pytest.mark.slow, pytest.mark.convert]
FAST = ("--runs", "10", "--min-time", "0", "--warmup", "1", "--warmup-time", "0", "--threads", "1")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A small CNN trained on scikit-learn's handwritten digits, its float32 and int8 TFLite
    artifacts, and 120 held-out digits."""
    pytest.importorskip("tensorflow", reason="needs edgekit[convert]")
    from edgekit.convert import convert
    from edgekit.data import digits_split
    from edgekit.models.reference import digits_cnn, train_classifier
    from edgekit.quantize import Recipe

    folder = tmp_path_factory.mktemp("digits")
    train, test = digits_split(seed=0, test_fraction=0.25)
    model = digits_cnn()
    train_classifier(model, train.x, train.y, epochs=4)
    model.save(folder / "digits.keras")
    np.savez(folder / "calib.npz", x=train.x[:200], y=train.y[:200])
    np.savez(folder / "eval.npz", x=test.x[:120], y=test.y[:120])
    result = convert(folder / "digits.keras", [Recipe("float32"), Recipe("int8")], calib=str(folder / "calib.npz"),
                     output=folder)
    return folder, [a.path for a in result.artifacts]


def test_keras_reference_is_computed_on_the_host(lab, rpi_setup, digits, tmp_path):
    _, project, _ = rpi_setup
    folder, models = digits
    remote = run_cli("bench", *models, "--data", folder / "eval.npz", "--reference", folder / "digits.keras",
                     "--save-reference", tmp_path / "ref.npz", *FAST, "--device", "rpi", "--json", cwd=project)
    assert remote.returncode == 0, remote.stderr
    on_pi = json.loads(remote.stdout)
    assert on_pi["system"]["machine"] == "aarch64"
    reference = on_pi["reference"]
    assert reference["kind"] == "keras" and reference["computed_on"] == "host"
    assert reference["saved_to"] == str(tmp_path / "ref.npz") and reference["accuracy"] > 0.5
    local = run_cli("bench", *models, "--data", folder / "eval.npz", "--reference", tmp_path / "ref.npz",
                    *FAST, "--json")
    assert local.returncode == 0, local.stderr
    here = json.loads(local.stdout)
    assert here["reference"]["accuracy"] == reference["accuracy"]
    for a, b in zip(on_pi["models"], here["models"]):
        assert a["comparison"]["accuracy"] == b["comparison"]["accuracy"] and a["verdict"] == b["verdict"]
        assert a["comparison"]["top1_agreement"] == b["comparison"]["top1_agreement"]
    float_on_pi = on_pi["models"][0]
    assert float_on_pi["recipe"] == "float32" and float_on_pi["comparison"]["max_abs_error"] < 1e-4  # TFLite on ARM vs Keras
    assert leftovers(lab.workdir) == []
