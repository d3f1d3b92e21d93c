"""Compile an int8 .tflite for the Edge TPU with Coral's edgetpu_compiler.

    from edgekit.edgetpu import compile_edgetpu
    result = compile_edgetpu("model_int8.tflite")          # -> model_int8_edgetpu.tflite + .json

Order of work: check the arguments and output paths, run the pre-flight check (reported to
`on_check`), find the compiler (argument, then $EDGEKIT_EDGETPU_COMPILER, then PATH), run it
with an argv list in a temporary folder with -s and a timeout, parse its log, compare it with
the check, and only then write the compiled model(s) (temp file + rename) and the manifest(s)
last. A failed or timed-out compile writes nothing. edgekit never makes a compiled model
itself: the bytes written are exactly the compiler's output.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .._files import check_outputs, output_folder, sha256_file, temp_folder
from ..artifact import Manifest, RecipeRecord, SizeInfo, SourceInfo, TensorSpec, package_versions, to_json, write_artifact
from ..artifact.manifest import now
from ..errors import BadInputError, MissingDependencyError, UsageError
from ..runtime.model import find_manifest
from ..runtime.tflite_file import describe, read_tflite_file
from .check import FAIL_NOT_QUANTIZED, TPU, CheckResult, check_edgetpu
from .log import CompilerLog, parse_compiler_output

ENV_COMPILER = "EDGEKIT_EDGETPU_COMPILER"
COMPILER_NAME = "edgetpu_compiler"
RECIPE = "int8-edgetpu"
SCHEMA = "edgekit.edgetpu-compile/1"
DEFAULT_TIMEOUT = 300.0
MAX_LOG_CHARS = 65536
INSTALL = (
    "it is an x86-64 Linux program from Coral's apt repository: add the line "
    "'deb https://packages.cloud.google.com/apt coral-edgetpu-stable main' to "
    "/etc/apt/sources.list.d/coral-edgetpu.list with Coral's key "
    "(https://packages.cloud.google.com/apt/doc/apt-key.gpg), then sudo apt-get update && "
    "sudo apt-get install edgetpu-compiler (coral.ai/docs/edgetpu/compiler; edgekit's "
    "devices/coral/setup.sh --compiler does this), or set $EDGEKIT_EDGETPU_COMPILER to its "
    "path; elsewhere use Coral's web compiler (Colab) and bring the _edgetpu.tflite back"
)

# What to do about the compiler's most common stops (matched in its error lines).
_HINTS = (
    ("Model not quantized", "convert with --int8 --calib DATA (full-integer quantization)"),
    ("dynamic-sized tensors", "fix the batch with --batch 1 (and --input-shape for other unknown sizes)"),
    ("Didn't find op for builtin opcode", "an op version is newer than the compiler (16.0, 2021) reads; see `edgekit edgetpu check`"),
    ("large activation tensors", "use a smaller input size, or compile with --search-delegate"),
    ("Internal compiler error", "retry with --search-delegate, or with --multiple-subgraphs"),
)


class CompilerNotFoundError(MissingDependencyError):
    """edgetpu_compiler is not installed (exit code 2, like any missing dependency).

    `check` holds the pre-flight check, which ran before the compiler was looked for."""

    def __init__(self, message: str, check: CheckResult | None = None):
        super().__init__(message)
        self.check = check


class CompileError(BadInputError):
    """The compiler stopped, failed or timed out on this model (exit code 3); nothing was
    written. `check` and `log` (a CompilerLog, or None) give the details."""

    def __init__(self, message: str, check: CheckResult | None = None, log: CompilerLog | None = None,
                 output: str = ""):
        super().__init__(message)
        self.check, self.log, self.output = check, log, output


@dataclass(frozen=True)
class CompileResult:
    paths: tuple  # the compiled model(s): one, or one per segment
    manifest_paths: tuple
    compiler: str
    argv: tuple
    seconds: float
    check: CheckResult
    log: CompilerLog
    comparison: dict
    warnings: tuple = field(default_factory=tuple)

    @property
    def path(self) -> Path:
        return self.paths[0]

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "paths": [str(p) for p in self.paths],
            "manifests": [str(p) for p in self.manifest_paths],
            "compiler": self.compiler,
            "argv": list(self.argv),
            "seconds": round(self.seconds, 3),
            "compiled": self.log.to_dict(),
            "comparison": self.comparison,
            "warnings": list(self.warnings),
            "check": self.check.to_json(),
        }


# ---------------------------------------------------------------------------------------
# finding and running the compiler


def _platform_note() -> str:
    machine, system = platform.machine(), platform.system()
    if system == "Linux" and machine in ("x86_64", "AMD64"):
        return ""
    return f" (this machine is {system} {machine}: the compiler does not run here)"


def find_compiler(compiler: str | os.PathLike | None = None) -> Path:
    """The edgetpu_compiler to run: `compiler`, else $EDGEKIT_EDGETPU_COMPILER, else PATH."""
    for given, where in ((compiler, "the compiler argument"), (os.environ.get(ENV_COMPILER), f"${ENV_COMPILER}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file() or not os.access(path, os.X_OK):
                raise UsageError(
                    f"{where} names {path}, which is not an executable file; point it at "
                    f"edgetpu_compiler (usually /usr/bin/edgetpu_compiler) or unset it to search PATH"
                )
            return path
    found = shutil.which(COMPILER_NAME)
    if found is None:
        raise CompilerNotFoundError(
            f"{COMPILER_NAME} was not found on PATH (nor set in ${ENV_COMPILER}){_platform_note()}; "
            f"{INSTALL}"
        )
    return Path(found)


def _run(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """(exit code or None on timeout, stdout+stderr). The compiler runs in its own process
    group: Coral's /usr/bin/edgetpu_compiler is a shell wrapper around the real binary, so
    a timeout must stop the whole group, not only the wrapper."""
    process = subprocess.Popen(
        argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=timeout)
        return process.returncode, out.decode("utf-8", errors="replace")
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, _ = process.communicate()
        return None, out.decode("utf-8", errors="replace")
    except BaseException:  # Ctrl-C: never leave a compiler running
        _kill_group(process)
        process.communicate()
        raise


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()


# ---------------------------------------------------------------------------------------
# arguments and outputs


def _check_options(segments, timeout, min_runtime_version) -> int:
    if segments is None:
        segments = 1
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise UsageError(f"segments must be a whole number >= 1 (one per Edge TPU); received {segments!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise UsageError(f"timeout must be a positive number of seconds; received {timeout!r}")
    if min_runtime_version is not None and (
        isinstance(min_runtime_version, bool) or not isinstance(min_runtime_version, int) or min_runtime_version < 1
    ):
        raise UsageError(
            f"min_runtime_version must be a whole number such as 13 or 14 (the Edge TPU runtime "
            f"on the device); received {min_runtime_version!r}"
        )
    return segments


def output_paths(model: Path, output: Path | None, segments: int) -> list[Path]:
    """NAME_edgetpu.tflite beside the model (or in -o DIR, or -o FILE.tflite); with N
    segments NAME_segment_I_of_N_edgetpu.tflite, the compiler's own names."""
    folder = output_folder(output, model.parent, segments, f"`segments` {segments}")
    if folder is None:
        return [output]
    if segments == 1:
        return [folder / f"{model.stem}_edgetpu.tflite"]
    return [folder / f"{model.stem}_segment_{i}_of_{segments}_edgetpu.tflite" for i in range(segments)]


def _compiled_names(model: Path, segments: int) -> list[str]:
    if segments == 1:
        return [f"{model.stem}_edgetpu.tflite"]
    return [f"{model.stem}_segment_{i}_of_{segments}_edgetpu.tflite" for i in range(segments)]


def _failure_message(model: Path, code: int | None, log: CompilerLog, output: str, timeout: float) -> str:
    if code is None:
        return (
            f"{COMPILER_NAME} did not finish {model.name} within {timeout:g} s and was stopped; "
            "nothing was written; allow more time (`timeout`) or compile a smaller model"
        )
    reason = "; ".join(log.errors)
    if not reason:
        tail = [line.strip() for line in output.splitlines() if line.strip()][-3:]
        reason = " / ".join(tail) or "no output"
    hint = next((fix for key, fix in _HINTS if key in reason), None)
    text = f"{COMPILER_NAME} failed on {model.name} (exit code {code}): {reason}; nothing was written"
    return text + (f"; {hint}" if hint else "")


# ---------------------------------------------------------------------------------------
# comparing with the check


def compare(check: CheckResult, log: CompilerLog) -> dict:
    """Where the check and the compiler disagree, per op name (the compiler reports counts)."""
    predicted = check.predicted_counts()
    compiled = log.op_counts()
    reasons = {}
    for op in check.ops:
        if op.where != TPU:
            reasons.setdefault(op.name, []).append(op.reason)
    disagreements = []
    for name in sorted(set(predicted) | set(compiled)):
        p_tpu, p_cpu = predicted.get(name, (0, 0))
        c_tpu, c_cpu = compiled.get(name, (0, 0))
        if (p_tpu, p_cpu) != (c_tpu, c_cpu):
            disagreements.append({
                "op": name,
                "predicted_tpu": p_tpu, "predicted_cpu": p_cpu,
                "compiled_tpu": c_tpu, "compiled_cpu": c_cpu,
                "compiler_statuses": log.statuses(name),
                "predicted_reasons": list(dict.fromkeys(reasons.get(name, []))),
            })
    compiled_subgraphs = sum(s.edgetpu_subgraphs or 0 for s in log.segments)
    mapped = sum(c for c, _ in compiled.values())
    total = sum(a + b for a, b in compiled.values())
    return {
        "agree": not disagreements and compiled_subgraphs == check.tpu_subgraphs,
        "predicted_tpu_ops": check.tpu_ops,
        "compiled_tpu_ops": mapped,
        "compiled_total_ops": total,
        "predicted_subgraphs": check.tpu_subgraphs,
        "compiled_subgraphs": compiled_subgraphs,
        "disagreements": disagreements,
    }


# ---------------------------------------------------------------------------------------
# manifests


def _io_specs(tensors) -> tuple[TensorSpec, ...]:
    return tuple(
        TensorSpec(t.name, t.index, tuple(t.shape), t.dtype, t.scales[0] if t.scales else None,
                   t.zero_points[0] if t.zero_points else None)
        for t in tensors
    )


def _manifest(model: Path, data: bytes, compiled: Path, compiled_bytes: bytes, segment: int,
              parts: dict) -> Manifest:
    """The manifest of one compiled file: the int8 model's (source, preprocessing, labels,
    calibration) with recipe int8-edgetpu and the compiler's parsed results."""
    base, _ = find_manifest(data, model, str(model))
    info = describe(compiled_bytes, str(compiled))
    custom_ops = sum(1 for op in info.ops if op.name == "CUSTOM" and op.custom_code == "edgetpu-custom-op")
    io = base.recipe.io if base is not None else (info.inputs[0].dtype if info.inputs else "int8")
    log: CompilerLog = parts["log"]
    report = log.segments[segment] if segment < len(log.segments) else None
    float32_bytes = base.size.float32_size_bytes if base is not None else None
    return Manifest(
        created=now(), versions=package_versions(),
        source=base.source if base is not None else SourceInfo(model.name),
        recipe=RecipeRecord(RECIPE, io, "int8", "int8", "edgetpu_compiler"),
        inputs=_io_specs(info.inputs), outputs=_io_specs(info.outputs),
        preprocessing=None if base is None else base.preprocessing, labels=None if base is None else base.labels,
        calibration=None if base is None else base.calibration,
        size=SizeInfo(len(compiled_bytes), float32_bytes,
                      round(len(compiled_bytes) / float32_bytes, 4) if float32_bytes else None),
        conversion_s=round(parts["seconds"], 3),
        verification=None,  # not measured: running the compiled model needs an Edge TPU
        derived_from=to_json({"file": model.name, "sha256": sha256_file(model), "size_bytes": len(data),
                              "recipe": None if base is None else base.recipe,
                              "verification": None if base is None else base.verification}),
        edgetpu=to_json({
            "compiler": {"path": parts["compiler"], "version": log.version, "argv": parts["argv"]},
            "segment": {"index": segment, "of": parts["segments"]},
            "compiled": report.to_dict() if report else None,
            "edgetpu_custom_ops_in_file": custom_ops,
            "comparison": parts["comparison"],
            "check": {k: v for k, v in parts["check"].to_json().items() if k not in ("ops", "schema")},
            "warnings": list(parts["warnings"]),
            "log": parts["output"][-MAX_LOG_CHARS:],
        }),
        note=("Compiled by edgetpu_compiler; edgekit did not run it on an Edge TPU (verification is "
              "null). Run it with edgekit.runtime.load(path, delegate='edgetpu', device='usb')."),
    )


# ---------------------------------------------------------------------------------------


def compile_edgetpu(
    model: str | os.PathLike,
    *,
    output: str | os.PathLike | None = None,
    force: bool = False,
    segments: int | None = None,
    search_delegate: bool = False,
    multiple_subgraphs: bool = False,
    min_runtime_version: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    compiler: str | os.PathLike | None = None,
    on_check: Callable[[CheckResult], None] | None = None,
) -> CompileResult:
    """Compile an int8 .tflite (e.g. NAME_int8.tflite from `convert`) for the Edge TPU.

    Writes NAME_int8_edgetpu.tflite (or one file per segment with `segments`) and its
    manifest NAME_int8_edgetpu.json (recipe "int8-edgetpu", the parsed compiler results and
    the comparison with the pre-flight check). Flags: `segments` -> -n (pipelining over
    several Edge TPUs), `search_delegate` -> --search_delegate (-d), `multiple_subgraphs`
    -> -a (--enable_multiple_subgraphs), `min_runtime_version` -> -m. `on_check` receives
    the pre-flight check before the compiler is looked for (to print it).

    Raises CompilerNotFoundError (exit 2) when there is no compiler, CompileError (exit 3)
    when it fails or times out; both carry `.check`.
    """
    path = Path(model)
    segments = _check_options(segments, timeout, min_runtime_version)
    data = read_tflite_file(path)
    out_paths = output_paths(path, Path(output) if output is not None else None, segments)
    manifest_paths = [p.with_suffix(".json") for p in out_paths]
    check_outputs(out_paths + manifest_paths, force, inputs=[path])
    check = check_edgetpu(data, multiple_subgraphs=multiple_subgraphs, source=str(path))
    if on_check is not None:
        on_check(check)
    if check.compiled_subgraphs:
        raise CompileError(
            f"{path.name} is already compiled for the Edge TPU ({check.compiled_subgraphs} "
            "edgetpu-custom-op); compile the int8 model it was made from", check)
    if check.failure == FAIL_NOT_QUANTIZED:  # certain, not a guess: the compiler refuses these
        raise CompileError(
            f"{path.name} is not quantized (its activations are float), so edgetpu_compiler "
            f"rejects it (\"{FAIL_NOT_QUANTIZED}\"); convert with --int8 --calib DATA and compile "
            "the NAME_int8.tflite", check)
    try:
        exe = find_compiler(compiler)
    except CompilerNotFoundError as exc:
        raise CompilerNotFoundError(exc.message, check) from exc

    argv = _argv(exe, segments, search_delegate, multiple_subgraphs, min_runtime_version)
    log, text, compiled, seconds = _run_compiler(argv, path, segments, timeout, check)
    comparison = compare(check, log)
    warnings = _warnings(log, comparison, compiled)
    parts = {"log": log, "seconds": seconds, "compiler": str(exe), "argv": argv + ["-o", "TMPDIR", path.name],
             "segments": segments, "comparison": comparison, "check": check,
             "warnings": warnings, "output": text}
    manifests = [
        _manifest(path, data, out, content, i, parts)
        for i, (out, content) in enumerate(zip(out_paths, compiled))
    ]
    for out, content, manifest in zip(out_paths, compiled, manifests):
        write_artifact(out, content, manifest, embed_manifest=False)  # byte for byte the compiler's output
    return CompileResult(
        paths=tuple(out_paths), manifest_paths=tuple(manifest_paths), compiler=str(exe),
        argv=tuple(parts["argv"]), seconds=seconds, check=check, log=log,
        comparison=comparison, warnings=tuple(warnings),
    )


def _argv(exe: Path, segments: int, search_delegate: bool, multiple_subgraphs: bool,
          min_runtime_version: int | None) -> list[str]:
    argv = [str(exe), "-s"]  # -s: the per-op table on stdout
    if segments > 1:
        argv += ["-n", str(segments)]
    if search_delegate:
        argv.append("--search_delegate")
    if multiple_subgraphs:
        argv.append("-a")
    if min_runtime_version is not None:
        argv += ["-m", str(min_runtime_version)]
    return argv


def _run_compiler(argv: list[str], path: Path, segments: int, timeout: float, check: CheckResult):
    """(log, output text, compiled bytes per segment, seconds); CompileError on any failure.
    The compiler writes into a temporary folder that is removed whatever happens."""
    with temp_folder("edgekit-edgetpu-") as tmp:
        out_dir = Path(tmp) / "out"  # the compiler names its outputs after the input file
        out_dir.mkdir()
        started = time.perf_counter()
        code, text = _run(argv + ["-o", str(out_dir), str(path.resolve())], cwd=Path(tmp), timeout=timeout)
        seconds = time.perf_counter() - started
        log = parse_compiler_output(text)
        produced = [out_dir / name for name in _compiled_names(path, segments)]
        if code != 0 or log.errors or not all(p.is_file() for p in produced):
            message = _failure_message(path, code, log, text, timeout)
            if code == 0 and not log.errors:
                missing = [p.name for p in produced if not p.is_file()]
                message = f"{COMPILER_NAME} exited 0 but did not write {', '.join(missing)}; nothing was written"
            raise CompileError(message, check, log, text)
        if log.version is None or not log.segments:
            raise CompileError(
                f"{COMPILER_NAME} wrote {produced[0].name} but its output is not the log format "
                f"edgekit knows (no 'Edge TPU Compiler version' / 'Model compiled successfully' "
                f"lines); nothing was written; output: {' / '.join(text.strip().splitlines()[:3])!r}",
                check, log, text,
            )
        log = _with_tables_from_files(log, out_dir)
        compiled = [p.read_bytes() for p in produced]
    for name, content in zip(produced, compiled):
        try:
            describe(content, name.name)
        except BadInputError as exc:
            raise CompileError(f"{COMPILER_NAME} wrote {name.name}, which is not a valid TFLite file "
                               f"({exc.message}); nothing was written", check, log, text) from exc
    return log, text, compiled, seconds


def _warnings(log: CompilerLog, comparison: dict, compiled: list[bytes]) -> list[str]:
    warnings = list(log.warnings)
    if not comparison["agree"]:
        warnings.append(
            f"the compiler mapped {comparison['compiled_tpu_ops']} ops in "
            f"{comparison['compiled_subgraphs']} Edge TPU subgraph(s); the check predicted "
            f"{comparison['predicted_tpu_ops']} in {comparison['predicted_subgraphs']}"
        )
    reported = sum(s.edgetpu_subgraphs or 0 for s in log.segments)
    found = sum(
        1 for content in compiled for op in describe(content).ops
        if op.name == "CUSTOM" and op.custom_code == "edgetpu-custom-op"
    )
    if found != reported:
        warnings.append(
            f"the compiled file(s) contain {found} edgetpu-custom-op op(s) but the compiler "
            f"reported {reported} Edge TPU subgraph(s)"
        )
    return warnings


def _with_tables_from_files(log: CompilerLog, out_dir: Path) -> CompilerLog:
    """Fill segments whose op table was not in stdout from the .log file the compiler wrote."""
    from dataclasses import replace

    segments = []
    for segment in log.segments:
        if not segment.ops and segment.log_file:
            candidate = out_dir / Path(segment.log_file).name
            if candidate.is_file():
                parsed = parse_compiler_output(candidate.read_text(encoding="utf-8", errors="replace"))
                rows = tuple(row for s in parsed.segments for row in s.ops)
                segment = replace(segment, ops=rows)
        segments.append(segment)
    return replace(log, segments=tuple(segments))
