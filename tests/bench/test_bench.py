"""edgekit bench: statistics, the JSON schema, the PASS/FAIL rule, references, errors.

Runs on the checked-in fixtures through edgekit.runtime: no TensorFlow needed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from edgekit_testing import FIXTURES, REPO, assert_clean_error, run_cli
from edgekit.bench import TimingConfig, run_benchmark, verdict
from edgekit.bench.reference import save_reference
from edgekit.errors import BadInputError, UsageError
from edgekit.runtime.timing import latency_stats

FAST = TimingConfig(runs=30, min_time=0.0, warmup=2, warmup_time=0.0)


@pytest.fixture
def eval_npz(tmp_path):
    """The fixture CNN's 8 images, labelled with the float model's own top-1 (3 classes)."""
    expected = np.load(FIXTURES / "expected.npz")
    x = expected["images"]
    y = expected["float32_tflite"].argmax(1)
    path = tmp_path / "eval.npz"
    np.savez(path, x=x, y=y)
    return path, x, y


def test_latency_stats_on_a_known_sample_set():
    stats = latency_stats(np.arange(1, 11) * 1_000_000)  # 1..10 ms
    assert stats["runs"] == 10
    assert stats["min_ms"] == 1 and stats["max_ms"] == 10
    assert stats["mean_ms"] == pytest.approx(5.5)
    assert stats["p50_ms"] == pytest.approx(5.5)
    assert stats["p90_ms"] == pytest.approx(9.1)
    assert stats["p99_ms"] == pytest.approx(9.91)
    assert stats["std_ms"] == pytest.approx(3.0276503540974917)
    assert stats["cv"] == pytest.approx(3.0276503540974917 / 5.5)
    assert stats["throughput_per_s"] == pytest.approx(1000 / 5.5)


@pytest.mark.parametrize("accuracy,reference,bound,expected", [
    (0.99, 1.0, 0.99, "PASS"),        # exactly at the bound
    (0.9899, 1.0, 0.99, "FAIL"),
    (0.75, 0.80, 0.99, "FAIL"),
    (0.80, 0.80, 1.0, "PASS"),
    (0.50, 0.80, 0.5, "PASS"),
    (None, 0.80, 0.99, None),
    (0.80, None, 0.99, None),
])
def test_pass_fail_rule(accuracy, reference, bound, expected):
    assert verdict(accuracy, reference, bound)[0] == expected


def test_run_benchmark_schema_and_numbers(eval_npz):
    path, x, y = eval_npz
    result = run_benchmark([FIXTURES / "float32.tflite", FIXTURES / "int8.tflite"], data=str(path),
                           reference=str(FIXTURES / "float32.tflite"), timing=FAST, threads=1)
    assert result["schema"] == "edgekit.bench/1"
    assert result["data"]["n"] == 8 and result["data"]["has_labels"] is True
    assert result["reference"]["kind"] == "tflite" and result["reference"]["accuracy"] == 1.0
    assert result["system"]["machine"] and result["system"]["cpu_count"] >= 1
    float_model, int8_model = result["models"]
    for m in result["models"]:
        lat = m["latency"]
        assert len(m["samples_ns"]) == lat["runs"] >= 30
        assert lat["min_ms"] <= lat["p50_ms"] <= lat["p90_ms"] <= lat["p99_ms"] <= lat["max_ms"]
        assert m["p50_ms"] == lat["p50_ms"] and m["mean_ms"] == lat["mean_ms"]
        assert np.median(np.asarray(m["samples_ns"]) / 1e6) == pytest.approx(m["p50_ms"])
        assert m["load_ms"] > 0 and m["first_invoke_ms"] > 0 and m["warmup_runs"] >= 2
        assert m["threads"] == 1 and m["backend"] == "litert"
        assert m["size_bytes"] == os.path.getsize(m["path"])
    assert float_model["accuracy"] == 1.0 and float_model["agreement"] == 1.0
    assert float_model["max_abs_error"] == 0.0
    assert float_model["vs_first"]["size_ratio"] == 1.0
    assert int8_model["agreement"] >= 0.875 and int8_model["snr_db"] > 10
    assert int8_model["verdict"] in ("PASS", "FAIL") and int8_model["verdict_reason"]
    json.dumps(result, allow_nan=True)  # JSON-ready


def test_first_model_is_the_reference_without_one(eval_npz):
    path, _, _ = eval_npz
    result = run_benchmark([FIXTURES / "float32.tflite", FIXTURES / "uint8.tflite"], data=str(path), timing=FAST)
    assert result["reference"]["kind"] == "first-model"
    assert result["models"][0]["verdict"] is None
    assert result["models"][1]["agreement"] is not None


def test_no_data_means_latency_only():
    result = run_benchmark([FIXTURES / "two_inputs.tflite"], timing=FAST)
    m = result["models"][0]
    assert result["data"] is None and m["accuracy"] is None and m["verdict"] is None
    assert m["p50_ms"] > 0


def test_strict_fail_exits_5(tmp_path, eval_npz):
    path, x, y = eval_npz
    # A reference that is always right (one-hot labels): accuracy 100%, so a model that
    # is right on fewer than 99% of samples FAILs.
    wrong = (y + 1) % 3  # the fixture model predicts y, so it is wrong on every sample
    np.savez(tmp_path / "shuffled.npz", x=x, y=wrong)
    save_reference(tmp_path / "ref.npz", np.eye(3, dtype=np.float32)[wrong], x, "one-hot labels")
    result = run_cli("bench", FIXTURES / "int8.tflite", "--data", tmp_path / "shuffled.npz",
                     "--reference", tmp_path / "ref.npz", "--runs", "10", "--min-time", "0",
                     "--strict", "--json", "-")
    assert result.returncode == 5, result.stderr
    data = json.loads(result.stdout)
    assert data["models"][0]["verdict"] == "FAIL" and data["reference"]["accuracy"] == 1.0
    assert "FAIL" in result.stderr


def test_saved_reference_is_reused_and_tied_to_the_data(tmp_path, eval_npz):
    path, x, y = eval_npz
    run_benchmark([FIXTURES / "int8.tflite"], data=str(path), reference=str(FIXTURES / "float32.tflite"),
                  save_reference_to=str(tmp_path / "ref.npz"), timing=FAST)
    again = run_benchmark([FIXTURES / "int8.tflite"], data=str(path), reference=str(tmp_path / "ref.npz"), timing=FAST)
    assert again["reference"]["kind"] == "npz" and again["reference"]["accuracy"] == 1.0
    np.savez(tmp_path / "other.npz", x=x[::-1], y=y[::-1])
    with pytest.raises(BadInputError, match="different data"):
        run_benchmark([FIXTURES / "int8.tflite"], data=str(tmp_path / "other.npz"),
                      reference=str(tmp_path / "ref.npz"), timing=FAST)


def test_cli_writes_json_and_html(tmp_path, eval_npz):
    path, _, _ = eval_npz
    result = run_cli("bench", FIXTURES / "float32.tflite", FIXTURES / "int8.tflite", "--data", path,
                     "--runs", "20", "--min-time", "0", "--json", tmp_path / "b.json",
                     "--report", tmp_path / "b.html")
    assert result.returncode == 0, result.stderr
    assert "p50 ms" in result.stdout and "int8.tflite" in result.stdout
    data = json.loads((tmp_path / "b.json").read_text())
    assert data["schema"] == "edgekit.bench/1" and len(data["models"]) == 2
    page = (tmp_path / "b.html").read_text()
    assert page.count("<svg") == 2 and "int8.tflite" in page
    again = run_cli("bench", FIXTURES / "float32.tflite", "--json", tmp_path / "b.json")
    assert_clean_error(again, 3, "output exists", "--force")


@pytest.mark.parametrize("make,args,code,words", [
    (None, ["--runs", "0"], 2, ["--runs must be at least 1"]),
    (None, ["--min-time", "-1"], 2, ["--min-time must not be negative"]),
    (None, ["--threads", "0"], 2, ["--threads must be at least 1"]),
    (None, ["--min-relative-accuracy", "1.5"], 2, ["--min-relative-accuracy"]),
    (None, ["--reference", "x.tflite"], 2, ["--reference needs --data"]),
    ("corrupt", [], 3, ["bad.tflite"]),
    ("shape", [], 3, ["evaluation", "(n, 8, 8, 3)"]),
    ("labels", [], 3, ["labels", "3 classes"]),
    ("empty_folder", [], 3, ["images"]),
    ("ref_size", [], 3, ["reference", "shape"]),
])
def test_bench_errors(tmp_path, make, args, code, words):
    model = FIXTURES / "int8.tflite"
    x = np.load(FIXTURES / "expected.npz")["images"]
    if make == "corrupt":
        model = tmp_path / "bad.tflite"
        model.write_bytes(b"\x00\x00\x00\x00TFL3" + os.urandom(64))
    elif make == "shape":
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 28, 28, 1), np.float32))
        args = ["--data", tmp_path / "d.npz"]
    elif make == "labels":
        np.savez(tmp_path / "d.npz", x=x, y=np.full(len(x), 7))
        args = ["--data", tmp_path / "d.npz"]
    elif make == "empty_folder":
        (tmp_path / "images").mkdir()
        args = ["--data", tmp_path / "images"]
    elif make == "ref_size":
        np.savez(tmp_path / "d.npz", x=x)
        save_reference(tmp_path / "r.npz", np.zeros((len(x), 5), np.float32), x, "five classes")
        args = ["--data", tmp_path / "d.npz", "--reference", tmp_path / "r.npz"]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("bench", model, "--runs", "5", "--min-time", "0", *args, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_ctrl_c_stops_cleanly_with_partial_results(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "edgekit", "bench", str(FIXTURES / "float32.tflite"), "--runs", "3000000",
         "--min-time", "0", "--warmup-time", "0", "--json", str(tmp_path / "partial.json")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    data = json.loads((tmp_path / "partial.json").read_text())
    assert data["interrupted"] is True and data["models"][0]["interrupted"] is True
    assert 10 < data["models"][0]["latency"]["runs"] < 3_000_000
