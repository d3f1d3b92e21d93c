"""Bad input to `edgekit optimize`: one line, the usual exit code, said before any model is
loaded or converted (these runs never import TensorFlow), nothing written."""

from __future__ import annotations

import pytest

from edgekit_testing import assert_clean_error, run_cli


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip: enough for the checks before loading
    return path


@pytest.mark.parametrize("args, code, words", [
    (["--max-latency", "20"], 2, ["--max-latency 20 has no unit", "20ms"]),
    (["--max-size", "5"], 2, ["--max-size 5 has no unit", "5MB"]),
    (["--max-latency", "20 parsecs"], 2, ["unknown unit 'parsecs'"]),
    (["--objective", "size", "--latency-percentile", "p99"], 2,
     ["--latency-percentile applies to --max-latency and the latency --objective"]),
    (["--max-latency", "5ms", "--time-budget", "0.5s"], 2, ["--time-budget 0.5s is shorter than one measurement"]),
    (["--best-effort"], 2, ["--best-effort writes the closest candidate", "give a budget"]),
    (["--max-drop", "1"], 2, ["are measured on --eval data", "pass --eval"]),
    (["--min-agreement", "1.5", "--eval", "digits"], 2, ["--min-agreement is a share of samples between 0 and 1"]),
    (["--objective", "accuracy"], 2, ["accuracy --objective needs data"]),
    (["--recipes", "int9"], 2, ["unknown recipe 'int9'"]),
    (["--recipes", "int8"], 2, ["int8 needs calibration data: pass --calib"]),
    (["--threads", "1,x"], 2, ["--threads takes whole numbers"]),
    (["--accept-new-host-key"], 2, ["--accept-new-host-key applies to runs on devices"]),
])
def test_bad_options_are_one_line(model, tmp_path, args, code, words):
    result = run_cli("optimize", model, *args, "-o", tmp_path, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_thread_counts_beyond_the_cores_are_refused(model, tmp_path):
    result = run_cli("optimize", model, "--threads", "1,4096", "-o", tmp_path, cwd=tmp_path)
    assert_clean_error(result, 3, "--threads 1,4096", "this machine has", "cores; choose thread counts from 1 to")


def test_an_existing_output_needs_force(model, tmp_path):
    (tmp_path / "m_optimized.tflite").write_bytes(b"old")
    result = run_cli("optimize", model, "--max-size", "5MB", cwd=tmp_path)
    assert_clean_error(result, 3, "output exists", "m_optimized.tflite", "--force")
    assert (tmp_path / "m_optimized.tflite").read_bytes() == b"old"


def test_an_unknown_device_is_named(model, tmp_path):
    result = run_cli("optimize", model, "--device", "nosuchpi", "-o", tmp_path, cwd=tmp_path)
    assert_clean_error(result, 2, "nosuchpi")


def test_help_shows_the_examples():
    result = run_cli("optimize", "--help")
    assert result.returncode == 0
    assert "edgekit optimize model.keras --calib calib/ --eval eval.npz --max-drop 1 --max-latency 20ms" in result.stdout


def test_the_edge_tpu_target_needs_the_int8_recipe_the_compiler_and_the_runtime(model, tmp_path, monkeypatch):
    """No Coral here: the checks that run before anything is converted. The compiler is a fake
    script (the real one is Coral's x86-64 binary, not installable here); libedgetpu is absent."""
    monkeypatch.delenv("EDGEKIT_EDGETPU_COMPILER", raising=False)
    no_int8 = run_cli("optimize", model, "--edgetpu", "-o", tmp_path, cwd=tmp_path)
    assert_clean_error(no_int8, 2, "--edgetpu compiles the int8 artifact", "--calib")
    no_compiler = run_cli("optimize", model, "--edgetpu", "--calib", "digits", "-o", tmp_path, cwd=tmp_path)
    assert_clean_error(no_compiler, 2, "edgetpu_compiler was not found")
    fake = tmp_path / "FAKE_edgetpu_compiler"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("EDGEKIT_EDGETPU_COMPILER", str(fake))
    no_runtime = run_cli("optimize", model, "--edgetpu", "--calib", "digits", "-o", tmp_path, cwd=tmp_path)
    assert_clean_error(no_runtime, 4, "libedgetpu", "install the Edge TPU runtime")
    assert "loading" not in no_runtime.stderr                  # checked before the model is loaded
