"""edgekit bench: statistics, the JSON schema, the PASS/FAIL rule, references, errors.

Runs on the checked-in fixtures through edgekit.runtime: no TensorFlow needed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from edgekit_testing import FIXTURES, REPO, assert_clean_error, default_sigint, run_cli
from edgekit.artifact import BenchResult, ReferenceInfo
from edgekit.bench import ReferenceOutputs, TimingConfig, load_bench_data, run_benchmark, verdict
from edgekit.bench.reference import save_reference
from edgekit.devices import BenchRequest, benchmark
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
    assert stats.runs == 10
    assert stats.min_ms == 1 and stats.max_ms == 10
    assert stats.mean_ms == pytest.approx(5.5)
    assert stats.p50_ms == pytest.approx(5.5)
    assert stats.p90_ms == pytest.approx(9.1)
    assert stats.p99_ms == pytest.approx(9.91)
    assert stats.std_ms == pytest.approx(3.0276503540974917)
    assert stats.cv == pytest.approx(3.0276503540974917 / 5.5)
    assert stats.throughput_per_s == pytest.approx(1000 / 5.5)


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
    assert verdict(accuracy, reference, bound).word == expected


def test_run_benchmark_schema_and_numbers(eval_npz):
    path, x, y = eval_npz
    result = benchmark([FIXTURES / "float32.tflite", FIXTURES / "int8.tflite"],
                       BenchRequest(data=str(path), reference=str(FIXTURES / "float32.tflite"), timing=FAST, threads=1))
    assert result.schema == "edgekit.bench/2"
    assert result.data.n == 8 and result.data.has_labels is True
    assert result.reference.kind == "tflite" and result.reference.accuracy == 1.0
    assert result.system.machine and result.system.cpu_count >= 1
    float_model, int8_model = result.models
    for m in result.models:
        lat = m.latency
        assert len(m.timing.samples_ns) == lat.runs >= 30
        assert lat.min_ms <= lat.p50_ms <= lat.p90_ms <= lat.p99_ms <= lat.max_ms
        assert np.median(np.asarray(m.timing.samples_ns) / 1e6) == pytest.approx(lat.p50_ms)
        assert m.load_ms > 0 and m.timing.first_invoke_ms > 0 and m.timing.warmup_runs >= 2
        assert m.threads == 1 and m.backend == "litert"
        assert m.size_bytes == os.path.getsize(m.path)
    assert float_model.accuracy == 1.0 and float_model.top1_agreement == 1.0
    assert float_model.comparison.max_abs_error == 0.0
    assert float_model.vs_first.size_ratio == 1.0
    assert int8_model.top1_agreement >= 0.875 and int8_model.comparison.snr_db > 10
    assert int8_model.verdict.word in ("PASS", "FAIL") and int8_model.verdict.reason
    data = json.loads(result.dumps())  # JSON with the schema, read back typed and equal
    assert data["models"][0]["comparison"]["snr_db"] == "inf" and "p50_ms" not in data["models"][0]
    assert BenchResult.from_json(data) == result


def test_first_model_is_the_reference_without_one(eval_npz):
    path, _, _ = eval_npz
    result = benchmark([FIXTURES / "float32.tflite", FIXTURES / "uint8.tflite"], BenchRequest(data=str(path), timing=FAST))
    assert result.reference.kind == "first-model"
    assert result.models[0].verdict.word == "REF"
    assert result.models[1].top1_agreement is not None


def test_run_benchmark_takes_arrays_for_the_reference(eval_npz):
    """The device-side function: data as a Dataset, the reference as arrays computed elsewhere."""
    path, x, y = eval_npz
    data = load_bench_data(str(path), FIXTURES / "int8.tflite")
    onehot = np.eye(3, dtype=np.float32)[y]
    reference = ReferenceOutputs(onehot, ReferenceInfo(kind="npz", path="labels"))
    result = run_benchmark([FIXTURES / "int8.tflite"], data=data, reference=reference, timing=FAST)
    assert result.reference.accuracy == 1.0 and result.models[0].verdict.word == "PASS"


def test_no_data_means_latency_only():
    result = run_benchmark([FIXTURES / "two_inputs.tflite"], timing=FAST)
    m = result.models[0]
    assert result.data is None and m.accuracy is None and m.verdict.word is None
    assert m.latency.p50_ms > 0


def test_strict_fail_exits_5(tmp_path, eval_npz):
    path, x, y = eval_npz
    # A reference that is always right (one-hot labels): accuracy 100%, so a model that
    # is right on fewer than 99% of samples FAILs.
    wrong = (y + 1) % 3  # the fixture model predicts y, so it is wrong on every sample
    np.savez(tmp_path / "shuffled.npz", x=x, y=wrong)
    save_reference(tmp_path / "ref.npz", ReferenceOutputs(np.eye(3, dtype=np.float32)[wrong],
                                                          ReferenceInfo(kind="npz", path="one-hot labels")), x)
    result = run_cli("bench", FIXTURES / "int8.tflite", "--data", tmp_path / "shuffled.npz",
                     "--reference", tmp_path / "ref.npz", "--runs", "10", "--min-time", "0",
                     "--strict", "--json")
    assert result.returncode == 5, result.stderr
    data = json.loads(result.stdout)
    assert data["models"][0]["verdict"]["word"] == "FAIL" and data["reference"]["accuracy"] == 1.0
    assert "FAIL" in result.stderr


def test_saved_reference_is_reused_and_tied_to_the_data(tmp_path, eval_npz):
    path, x, y = eval_npz
    first = benchmark([FIXTURES / "int8.tflite"], BenchRequest(
        data=str(path), reference=str(FIXTURES / "float32.tflite"), save_reference_to=str(tmp_path / "ref.npz"),
        timing=FAST))
    assert first.reference.saved_to == str(tmp_path / "ref.npz")
    again = benchmark([FIXTURES / "int8.tflite"], BenchRequest(data=str(path), reference=str(tmp_path / "ref.npz"),
                                                               timing=FAST))
    assert again.reference.kind == "npz" and again.reference.accuracy == 1.0
    np.savez(tmp_path / "other.npz", x=x[::-1], y=y[::-1])
    with pytest.raises(BadInputError, match="different data"):
        benchmark([FIXTURES / "int8.tflite"], BenchRequest(data=str(tmp_path / "other.npz"),
                                                           reference=str(tmp_path / "ref.npz"), timing=FAST))


def test_cli_writes_json_and_html(tmp_path, eval_npz):
    path, _, _ = eval_npz
    result = run_cli("bench", FIXTURES / "float32.tflite", FIXTURES / "int8.tflite", "--data", path,
                     "--runs", "20", "--min-time", "0", "-o", tmp_path / "b.json",
                     "--report", tmp_path / "b.html")
    assert result.returncode == 0, result.stderr
    assert "p50 ms" in result.stdout and "int8" in result.stdout
    data = json.loads((tmp_path / "b.json").read_text())
    assert data["schema"] == "edgekit.bench/2" and len(data["models"]) == 2
    page = (tmp_path / "b.html").read_text()
    assert page.count("<svg") == 2 and "int8.tflite" in page
    again = run_cli("bench", FIXTURES / "float32.tflite", "-o", tmp_path / "b.json")
    assert_clean_error(again, 3, "output exists", "--force")


@pytest.mark.parametrize("make,args,code,words", [
    (None, ["--runs", "0"], 2, ["--runs must be a whole number from 1"]),
    (None, ["--min-time", "-1"], 2, ["--min-time is a number of seconds from 0"]),
    (None, ["--threads", "0"], 2, ["--threads must be a whole number from 1 to 256"]),
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
        save_reference(tmp_path / "r.npz", ReferenceOutputs(np.zeros((len(x), 5), np.float32),
                                                            ReferenceInfo(kind="npz", path="five classes")), x)
        args = ["--data", tmp_path / "d.npz", "--reference", tmp_path / "r.npz"]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("bench", model, "--runs", "5", "--min-time", "0", *args, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_ctrl_c_stops_cleanly_with_partial_results(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    process = subprocess.Popen(
        [sys.executable, "-m", "edgekit", "bench", str(FIXTURES / "float32.tflite"), "--runs", "3000000",
         "--min-time", "0", "--warmup-time", "0", "-o", str(tmp_path / "partial.json")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    lines = []
    for line in process.stderr:  # the event: timed runs are under way (a progress line counts them)
        lines.append(line)
        if " runs" in line and "latency" in line:
            break
    process.send_signal(signal.SIGINT)
    out, rest = process.communicate(timeout=120)
    err = "".join(lines) + rest
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    data = json.loads((tmp_path / "partial.json").read_text())
    assert data["interrupted"] is True and data["models"][0]["timing"]["interrupted"] is True
    assert 64 <= data["models"][0]["timing"]["latency"]["runs"] < 3_000_000


def test_report_without_matplotlib_fails_before_measuring(tmp_path):
    """The HTML report needs the host-side `report` extra; without it --report says so at once."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['matplotlib'] = None\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    done = subprocess.run([sys.executable, "-m", "edgekit", "bench", str(FIXTURES / "float32.tflite"),
                           "--report", str(tmp_path / "r.html")], env=env, capture_output=True, text=True, timeout=300)
    assert_clean_error(done, 2, 'pip install "edgekit[report]"')
    assert "latency:" not in done.stderr and not (tmp_path / "r.html").exists()


def test_edge_tpu_options_without_the_runtime(tmp_path):
    """No Coral and no libedgetpu exist here: the delegate's absence is one line (exit 4)
    naming the package; the device name and the delegate are checked before anything loads.
    (Running on an Edge TPU itself cannot be tested on this machine.)"""
    int8 = FIXTURES / "int8.tflite"
    result = run_cli("bench", int8, "--delegate", "edgetpu", "--runs", "3", "--min-time", "0")
    assert_clean_error(result, 4, "libedgetpu.so.1", "libedgetpu1-std")
    compiled = tmp_path / "m_edgetpu.tflite"  # named as the compiler names its output: the delegate is automatic
    compiled.write_bytes(int8.read_bytes())
    assert_clean_error(run_cli("bench", compiled, "--runs", "3", "--min-time", "0"), 4, "libedgetpu1-std")
    assert_clean_error(run_cli("bench", int8, "--tpu", "usb:0"), 2, "--tpu 'usb:0' names an Edge TPU",
                       "--delegate edgetpu")
    assert_clean_error(run_cli("bench", int8, "--delegate", "edgetpu", "--tpu", "usb0"), 3,
                       "--tpu 'usb0' is not an Edge TPU device name")
    assert_clean_error(run_cli("bench", int8, "--delegate", "cuda"), 2, "'cuda' is not one of 'edgetpu'")


def test_a_device_run_carries_the_delegate_to_the_device():
    from edgekit.devices.bench import HostInputs, _config

    request = BenchRequest(delegate="edgetpu", device="pci:0")
    config = _config(HostInputs((FIXTURES / "int8.tflite",), None, None), (None, None), "/run", request)
    assert config["delegate"] == "edgetpu" and config["device"] == "pci:0"
    with pytest.raises(UsageError, match="`xnnpack` is about CPU kernels"):
        BenchRequest(delegate="edgetpu", xnnpack=False)
