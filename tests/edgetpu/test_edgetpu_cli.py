"""`edgekit edgetpu check` and `edgekit edgetpu compile` through the real CLI (subprocesses)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from edgekit_testing import FIXTURES, assert_clean_error, run_cli
from edgetpu_fakes import NOT_QUANTIZED_LOG, success_log, write_fake_compiler

from edgekit.edgetpu import ENV_COMPILER

MAPPED = "Mapped to Edge TPU"
ROWS = [("CONV_2D", 1, MAPPED), ("MEAN", 1, MAPPED), ("FULLY_CONNECTED", 1, MAPPED), ("SOFTMAX", 1, MAPPED)]


def test_check_table_and_json(edgetpu_models):
    result = run_cli("edgetpu", "check", edgetpu_models["leaky"])
    assert result.returncode == 0, result.stderr
    assert "LEAKY_RELU" in result.stdout and "verdict:" in result.stdout
    assert "replace LeakyReLU by ReLU" in result.stdout
    data = json.loads(run_cli("edgetpu", "check", edgetpu_models["int8"], "--json").stdout)
    assert data["verdict"] == "all 8 ops predicted on the Edge TPU" and data["tpu_subgraphs"] == 1


def test_check_min_mapped_gate(edgetpu_models):
    result = run_cli("edgetpu", "check", edgetpu_models["float_io"], "--min-mapped", "1.0", "--json")
    assert_clean_error(result, 5, "8 of 10 ops (80%)", "--min-mapped 1")
    assert json.loads(result.stdout)["mapped_fraction"] == 0.8  # the prediction is still printed
    assert run_cli("edgetpu", "check", edgetpu_models["int8"], "--min-mapped", "1.0").returncode == 0
    assert_clean_error(run_cli("edgetpu", "check", edgetpu_models["int8"], "--min-mapped", "2"), 2,
                       "--min-mapped takes a fraction between 0 and 1")


def test_check_bad_input(tmp_path):
    assert_clean_error(run_cli("edgetpu", "check", tmp_path / "missing.tflite"), 3, "file not found")


def _model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_int8.tflite"
    shutil.copyfile(FIXTURES / "int8.tflite", path)
    return path


def test_compile_with_a_compiler_from_the_environment(tmp_path, monkeypatch):
    model = _model(tmp_path)
    monkeypatch.setenv(ENV_COMPILER, str(write_fake_compiler(tmp_path / "fake", success_log(ROWS))))
    result = run_cli("edgetpu", "compile", model)
    assert result.returncode == 0, result.stderr
    assert "Edge TPU check" in result.stdout and "edgetpu_compiler 16.0.384591198" in result.stdout
    assert "the compiler agrees with the check" in result.stdout
    assert "wrote" in result.stdout and (tmp_path / "tiny_int8_edgetpu.json").is_file()
    again = run_cli("edgetpu", "compile", model, "--json", "--force")
    data = json.loads(again.stdout)
    assert data["compiled"]["version"] == "16.0.384591198" and data["comparison"]["agree"]
    assert data["paths"] == [str(tmp_path / "tiny_int8_edgetpu.tflite")]


def test_compile_without_a_compiler_prints_the_check_then_fails(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_COMPILER, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run_cli("edgetpu", "compile", _model(tmp_path))
    message = assert_clean_error(result, 2, "edgetpu_compiler was not found", "x86-64 Linux",
                                 "apt-get install edgetpu-compiler")
    assert "coral-edgetpu-stable" in message
    assert "all 4 ops predicted on the Edge TPU" in result.stdout  # the check came first
    assert not (tmp_path / "tiny_int8_edgetpu.tflite").exists()


def test_failed_compile_exit_code_and_json(tmp_path, monkeypatch):
    model = _model(tmp_path)
    fake = write_fake_compiler(tmp_path / "fake", NOT_QUANTIZED_LOG, exit=1, write_outputs=False)
    monkeypatch.setenv(ENV_COMPILER, str(fake))
    result = run_cli("edgetpu", "compile", model, "--json")
    assert_clean_error(result, 3, "Model not quantized", "nothing was written")
    data = json.loads(result.stdout)
    assert data["compiled"] is None and "Model not quantized" in data["error"] and data["check"]["tpu_ops"] == 4
    assert not (tmp_path / "tiny_int8_edgetpu.tflite").exists()
