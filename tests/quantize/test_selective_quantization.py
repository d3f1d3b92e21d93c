"""Accuracy-bounded int8 and `edgekit debug` on a model made sensitive to quantization on
purpose: one hidden unit fires at 1e4, so int8 rounds every other unit of that layer to 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit_testing import assert_clean_error, run_cli
from edgekit.runtime import describe, load

pytestmark = pytest.mark.convert


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def planted_run(planted_file, digits_files, tmp_path_factory):
    """`edgekit convert --int8 --max-drop 1` on the planted model, and `edgekit debug`."""
    out = tmp_path_factory.mktemp("selective")
    args = ["convert", planted_file, "--int8", "--calib", digits_files["train"],
            "--eval", digits_files["test"], "--max-drop", "1", "-o", out, "--json"]
    result = run_cli(*args)
    debug = run_cli("debug", planted_file, "--calib", digits_files["train"], "--eval",
                    digits_files["test"], "--json", "--top", "3")
    return {"out": out, "result": result, "debug": debug}


def test_plain_int8_loses_more_than_5_points_and_max_drop_recovers_it(planted_run):
    result = planted_run["result"]
    assert result.returncode == 0, result.stderr
    (artifact,) = json.loads(result.stdout)["artifacts"]
    manifest = json.loads((planted_run["out"] / "planted_int8.json").read_text())
    selective = manifest["selective"]
    plain = selective["plain_int8"]
    assert plain["reference_accuracy"] - plain["accuracy"] > 0.05      # the damage is real
    assert artifact["accuracy_delta"] >= -0.01                       # --max-drop 1 holds
    assert selective["bound_holds"] and selective["bound"]["max_drop_points"] == 1
    assert "outlier_dense" in selective["float_layers"] and len(selective["float_layers"]) <= 3
    assert manifest["verification"]["accuracy"] == artifact["accuracy"]
    # the written file really has float layers: float FULLY_CONNECTED ops and float weights
    info = describe((planted_run["out"] / "planted_int8.tflite").read_bytes())
    assert "FULLY_CONNECTED" in info.float_ops and not info.fully_integer
    assert selective["float_ops"] == list(info.float_ops)
    cost = selective["cost_vs_plain_int8"]
    assert cost["size_bytes"] > cost["plain_int8_size_bytes"] and cost["size_ratio"] > 1.5
    assert cost["p50_ms"] > 0 and cost["plain_int8_p50_ms"] > 0
    assert selective["attempts"][-1]["bound_holds"] and selective["ranking"][0]["name"] == "outlier_dense"
    # int8 I/O stays as asked, and the model runs through the runtime
    model = load(planted_run["out"] / "planted_int8.tflite")
    assert model.inputs[0].dtype == "int8"
    assert model.predict(np.zeros((1, 8, 8, 1), np.float32)).shape == (1, 10)


def test_debug_ranks_the_planted_layer_first(planted_run):
    result = planted_run["debug"]
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    layers = report["layers"]
    assert layers[0]["name"] == "outlier_dense" and layers[0]["rank"] == 1
    assert layers[0]["activation_error"] > 0.5                        # its small units vanish
    assert all(entry["relative_error"] < 0.1 for entry in layers[1:])
    first = report["float_effects"][0]
    assert first["layer"] == "outlier_dense" and "outlier_dense" in first["float_layers"]
    assert first["accuracy"] >= report["int8"]["reference_accuracy"] - 0.01
    assert report["int8"]["accuracy"] < report["int8"]["reference_accuracy"] - 0.05
    assert len(report["float_effects"]) <= 3


def test_debug_prints_a_table(planted_file, digits_files):
    result = run_cli("debug", planted_file, "--calib", digits_files["train"], "--top", "1", "-q")
    assert result.returncode == 0, result.stderr
    first_row = next(line for line in result.stdout.splitlines() if line.strip("│ ").startswith("1 "))
    assert "outlier_dense" in first_row and "FULLY_CONNECTED" in first_row
    assert "held-out calibration data" in result.stdout


@pytest.fixture(scope="module")
def crushed_calibration(digits_files, tmp_path_factory):
    """Calibration data with one corrupted sample (a pixel at 1e4): with int8 inputs, no layer
    kept in float can undo what the input's int8 range does to the eval images."""
    folder = tmp_path_factory.mktemp("crushed")
    train = digits_files["data"]["train"]
    x = train.x.copy()
    x[0, 0, 0, 0] = 1e4
    np.savez(folder / "calib.npz", x=x[:150], y=train.y[:150])
    return folder / "calib.npz"


def test_unmeetable_bound_exits_5_and_writes_nothing(tmp_path, digits_cnn_file, crushed_calibration, digits_files):
    args = ["convert", digits_cnn_file, "--int8", "--calib", crushed_calibration, "--calib-samples",
            "150", "--eval", digits_files["test"], "--max-drop", "1", "-o", tmp_path]
    result = run_cli(*args)
    assert_clean_error(result, 5, "int8 cannot meet accuracy drop <= 1 points", "nothing was written",
                       "--best-effort")
    assert _files(tmp_path) == []
    best = run_cli(*args, "--best-effort", "--json")
    assert_clean_error(best, 5, "no mix of float layers met", "best attempt was written")
    manifest = json.loads((tmp_path / "digits_cnn_int8.json").read_text())
    assert manifest["selective"]["bound_holds"] is False
    assert len(manifest["selective"]["attempts"]) >= 2
    assert json.loads(best.stdout)["unmet_bounds"] == ["int8: accuracy drop <= 1 points"]


def test_plain_int8_that_meets_the_bound_keeps_no_layer_in_float(tmp_path, digits_cnn_file, digits_files):
    result = run_cli("convert", digits_cnn_file, "--int8", "--calib", digits_files["train"], "--eval",
                     digits_files["test"], "--min-agreement", "0.95", "-o", tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "digits_cnn_int8.json").read_text())
    assert manifest["selective"]["float_layers"] == [] and manifest["selective"]["bound_holds"]
    assert describe((tmp_path / "digits_cnn_int8.tflite").read_bytes()).fully_integer
