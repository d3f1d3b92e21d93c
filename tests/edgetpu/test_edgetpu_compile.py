"""compile_edgetpu with FAKE_edgetpu_compiler (see edgetpu_fakes.py): flags, parsing, the
comparison with the check, atomic writes, failures, the timeout and a missing compiler.

The fake writes a byte copy of its input as "compiled" output, so nothing here is an Edge TPU
model; the tests check what edgekit does around the compiler, never the compilation."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from edgetpu_fakes import DYNAMIC_LOG, NOT_QUANTIZED_LOG, recorded_argv, success_log, write_fake_compiler

from edgekit.edgetpu import (
    ENV_COMPILER,
    RECIPE,
    CompileError,
    CompilerNotFoundError,
    compile_edgetpu,
    find_compiler,
)
from edgekit.errors import BadInputError, UsageError
from edgekit.runtime import describe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MAPPED = "Mapped to Edge TPU"
INT8_ROWS = [("CONV_2D", 1, MAPPED), ("MEAN", 1, MAPPED), ("FULLY_CONNECTED", 1, MAPPED), ("SOFTMAX", 1, MAPPED)]


@pytest.fixture
def model(tmp_path) -> Path:
    """The checked-in int8 fixture as NAME_int8.tflite, as `edgekit convert` names it."""
    path = tmp_path / "tiny_int8.tflite"
    shutil.copyfile(FIXTURES / "int8.tflite", path)
    return path


@pytest.fixture(autouse=True)
def no_configured_compiler(monkeypatch):
    monkeypatch.delenv(ENV_COMPILER, raising=False)


def _outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "_edgetpu" in p.name)


def test_successful_compile_writes_model_and_manifest(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS))
    seen = []
    result = compile_edgetpu(model, compiler=fake, on_check=seen.append)

    assert seen == [result.check] and result.check.tpu_ops == 4
    assert result.path == tmp_path / "tiny_int8_edgetpu.tflite"
    assert result.path.read_bytes() == model.read_bytes()  # exactly what the "compiler" wrote
    argv = recorded_argv(tmp_path / "fake")
    assert argv[0] == "-s" and "-o" in argv and argv[-1] == str(model.resolve())
    assert "-n" not in argv and "-a" not in argv and "--search_delegate" not in argv

    log = result.log
    assert log.version == "16.0.384591198" and log.succeeded
    assert log.segments[0].edgetpu_subgraphs == 1 and log.segments[0].mapped_ops() == 4
    assert result.comparison["agree"] and result.comparison["disagreements"] == []
    # the fake copies its input, so the "compiled" file has no edgetpu-custom-op: reported
    assert any("0 edgetpu-custom-op" in w and "1 Edge TPU subgraph" in w for w in result.warnings)

    manifest = json.loads(result.manifest_paths[0].read_text())
    assert result.manifest_paths[0] == tmp_path / "tiny_int8_edgetpu.json"
    assert manifest["recipe"]["name"] == RECIPE == "int8-edgetpu"
    assert manifest["schema"] == "edgekit.manifest/2" and manifest["verification"] is None
    assert manifest["edgetpu"]["compiler"]["version"] == "16.0.384591198"
    assert manifest["edgetpu"]["compiled"]["on_chip_used_bytes"] == round(12.25 * 1024)
    assert manifest["edgetpu"]["comparison"]["agree"] is True
    assert manifest["edgetpu"]["edgetpu_custom_ops_in_file"] == 0
    assert manifest["artifact"]["size_bytes"] == result.path.stat().st_size
    assert manifest["derived_from"]["file"] == "tiny_int8.tflite"
    assert manifest["inputs"][0]["dtype"] == "int8"
    assert json.loads(json.dumps(result.to_json()))["schema"] == "edgekit.edgetpu-compile/1"


def test_partially_mapped_compile_lists_disagreements(tmp_path, model):
    rows = INT8_ROWS[:3] + [("SOFTMAX", 1, "Operation is otherwise supported, but not mapped due to "
                                           "some unspecified limitation")]
    fake = write_fake_compiler(tmp_path / "fake", success_log(rows))
    result = compile_edgetpu(model, compiler=fake)
    comparison = result.comparison
    assert not comparison["agree"]
    (disagreement,) = comparison["disagreements"]
    assert disagreement["op"] == "SOFTMAX"
    assert (disagreement["predicted_tpu"], disagreement["compiled_tpu"], disagreement["compiled_cpu"]) == (1, 0, 1)
    assert disagreement["compiler_statuses"][0].startswith("Operation is otherwise supported")
    assert any("the compiler mapped 3 ops" in w and "predicted 4" in w for w in result.warnings)
    assert result.path.is_file()


def test_flags_reach_the_compiler(tmp_path, model):
    out = tmp_path / "out"
    out.mkdir()
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS))
    result = compile_edgetpu(model, output=out, compiler=fake, segments=2, search_delegate=True,
                             multiple_subgraphs=True, min_runtime_version=13)
    argv = recorded_argv(tmp_path / "fake")
    assert argv[argv.index("-n") + 1] == "2" and "--search_delegate" in argv and "-a" in argv
    assert argv[argv.index("-m") + 1] == "13"
    assert [p.name for p in result.paths] == ["tiny_int8_segment_0_of_2_edgetpu.tflite",
                                              "tiny_int8_segment_1_of_2_edgetpu.tflite"]
    assert _outputs(out) == ["tiny_int8_segment_0_of_2_edgetpu.json", "tiny_int8_segment_0_of_2_edgetpu.tflite",
                             "tiny_int8_segment_1_of_2_edgetpu.json", "tiny_int8_segment_1_of_2_edgetpu.tflite"]
    assert result.check.multiple_subgraphs


def test_failed_compile_writes_nothing_and_shows_the_reason(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", NOT_QUANTIZED_LOG, exit=1, write_outputs=False)
    with pytest.raises(CompileError) as info:
        compile_edgetpu(model, compiler=fake)
    message = info.value.message
    assert "edgetpu_compiler failed on tiny_int8.tflite (exit code 1)" in message
    assert "Model not quantized" in message and "nothing was written" in message
    assert "--int8" in message  # the fix for this stop
    assert info.value.check is not None and info.value.log.version == "16.0.384591198"
    assert _outputs(tmp_path) == []


def test_failure_after_writing_partial_outputs_still_writes_nothing(tmp_path, model):
    # the compiler wrote a file, then failed (as with a failing second segment): nothing kept
    fake = write_fake_compiler(tmp_path / "fake", DYNAMIC_LOG, exit=1, write_outputs=True)
    with pytest.raises(CompileError, match="dynamic-sized tensors.*--batch 1"):
        compile_edgetpu(model, compiler=fake)
    assert _outputs(tmp_path) == []


def test_exit_zero_without_an_output_file_is_a_failure(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS), write_outputs=False)
    with pytest.raises(CompileError, match="exited 0 but did not write tiny_int8_edgetpu.tflite"):
        compile_edgetpu(model, compiler=fake)
    assert _outputs(tmp_path) == []


def test_output_that_is_not_a_compiler_log_is_refused(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", "hello from something else\n")
    with pytest.raises(CompileError, match="not the log format edgekit knows"):
        compile_edgetpu(model, compiler=fake)
    assert _outputs(tmp_path) == []


def test_hanging_compiler_is_stopped_with_its_children(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", "Edge TPU Compiler version 16.0.384591198\n",
                               sleep=120, grandchild=True)
    started = time.monotonic()
    with pytest.raises(CompileError, match="did not finish tiny_int8.tflite within 2 s"):
        compile_edgetpu(model, compiler=fake, timeout=2)
    assert time.monotonic() - started < 30
    pid = int((tmp_path / "fake" / "grandchild.pid").read_text())
    for _ in range(50):  # the killed grandchild is reaped by init shortly after
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the compiler's child process outlived the timeout"
    assert _outputs(tmp_path) == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_missing_compiler_says_how_to_install_it(tmp_path, model, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    seen = []
    with pytest.raises(CompilerNotFoundError) as info:
        compile_edgetpu(model, on_check=seen.append)
    message = info.value.message
    assert info.value.exit_code == 2
    for words in ("edgetpu_compiler was not found on PATH", ENV_COMPILER, "x86-64 Linux",
                  "packages.cloud.google.com/apt coral-edgetpu-stable main", "apt-get install edgetpu-compiler"):
        assert words in message
    assert seen and info.value.check is seen[0]  # the check ran and was reported first
    assert _outputs(tmp_path) == []


def test_compiler_from_the_environment(tmp_path, model, monkeypatch):
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS))
    monkeypatch.setenv(ENV_COMPILER, str(fake))
    assert find_compiler() == fake
    assert compile_edgetpu(model).compiler == str(fake)
    monkeypatch.setenv(ENV_COMPILER, str(tmp_path / "nope"))
    with pytest.raises(UsageError, match=f"\\${ENV_COMPILER} names .*nope, which is not an executable file"):
        find_compiler()


def test_compiler_on_path(tmp_path, monkeypatch):
    fake = write_fake_compiler(tmp_path / "bin", "")
    fake.rename(tmp_path / "bin" / "edgetpu_compiler")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find_compiler() == tmp_path / "bin" / "edgetpu_compiler"


def test_existing_output_needs_force_and_nothing_runs(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS))
    (tmp_path / "tiny_int8_edgetpu.tflite").write_bytes(b"old")
    with pytest.raises(BadInputError, match="output exists.*`force`"):
        compile_edgetpu(model, compiler=fake)
    assert recorded_argv(tmp_path / "fake") is None
    assert compile_edgetpu(model, compiler=fake, force=True).path.read_bytes() == model.read_bytes()


@pytest.mark.parametrize("kwargs, words", [
    ({"segments": 0}, "segments must be a whole number >= 1"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"min_runtime_version": "14"}, "min_runtime_version must be a whole number"),
    ({"output": "one.tflite", "segments": 2}, "names one file but `segments` 2"),
])
def test_bad_options_are_usage_errors(tmp_path, model, kwargs, words):
    kwargs = dict(kwargs)
    if "output" in kwargs:
        kwargs["output"] = tmp_path / kwargs["output"]
    with pytest.raises(UsageError, match=words):
        compile_edgetpu(model, compiler=write_fake_compiler(tmp_path / "fake", ""), **kwargs)


def test_not_a_tflite_file(tmp_path):
    bogus = tmp_path / "model_int8.tflite"
    bogus.write_bytes(b"not a model at all")
    with pytest.raises(BadInputError, match="not a TFLite model"):
        compile_edgetpu(bogus, compiler=write_fake_compiler(tmp_path / "fake", ""))


def test_compiled_file_is_checked_as_tflite(tmp_path, model):
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS))
    result = compile_edgetpu(model, compiler=fake, output=tmp_path / "named.tflite")
    assert result.paths == (tmp_path / "named.tflite",) and (tmp_path / "named.json").is_file()
    assert describe(result.path.read_bytes()).op_histogram["CONV_2D"] == 1
    assert os.access(result.path, os.R_OK)


def test_float_model_is_refused_before_running_the_compiler(tmp_path, edgetpu_models):
    fake = write_fake_compiler(tmp_path / "fake", success_log(INT8_ROWS))
    with pytest.raises(CompileError, match="not quantized.*convert with --int8") as info:
        compile_edgetpu(edgetpu_models["float32"], compiler=fake, output=tmp_path)
    assert info.value.check.failure == "Model not quantized"
    assert recorded_argv(tmp_path / "fake") is None and _outputs(tmp_path) == []
