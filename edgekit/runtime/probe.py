"""A first allocate + invoke of an untrusted .tflite in a child process.

Malformed models can crash the interpreter (SIGSEGV, abort), hang it, or exhaust memory;
that must not take edgekit down with it. `probe_model` runs this module as a child with a
time limit and a memory limit and turns any failure into one BadInputError line, naming
the phase ("while allocating tensors"). The child prints its phase before each step.

    python -m edgekit.runtime.probe MODEL.tflite [--backend B] [--threads N]
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError, EdgekitError, error_for_exit_code

PHASES = {
    "read": "reading the file",
    "load": "loading the model",
    "allocate": "allocating tensors",
    "invoke": "running the model",
}
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MIB = 4096


def _limit_memory(mib: int):
    def apply():
        limit = mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


@dataclass(frozen=True)
class ProbeResult:
    """What the child measured: the peak resident memory of loading, allocating and invoking
    the model, above the child's memory before it loaded anything (MiB; None if unknown)."""

    memory_mib: float | None


def probe_model(path: str | os.PathLike, *, backend: str = "auto", threads: int | None = None,
                timeout: float = DEFAULT_TIMEOUT_S, memory_mib: int = DEFAULT_MEMORY_MIB,
                python: str = sys.executable, data: bytes | None = None) -> ProbeResult:
    """Load, allocate and invoke `path` once in a child; raise BadInputError if it fails
    (or the child's own EdgekitError class for a usage or device problem).

    `data` is the file's bytes when the caller has read them already; `python` is the
    interpreter that runs the child (tests substitute a crashing one)."""
    from .tflite_file import check_tflite_bytes, read_tflite_file

    if data is None:
        data = read_tflite_file(path)  # checks that need no interpreter stay in this process
    check_tflite_bytes(data, str(path))
    argv = [python, "-m", "edgekit.runtime.probe", str(path), "--backend", backend]
    if threads is not None:
        argv += ["--threads", str(threads)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")] if p)
    with tempfile.TemporaryFile("w+") as out:
        try:
            process = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                     preexec_fn=_limit_memory(memory_mib), env=env, check=False)
            code = process.returncode
        except subprocess.TimeoutExpired:
            code = None
        out.seek(0)
        lines = out.read().splitlines()
    phases = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("phase:")]
    phase = PHASES.get(phases[-1], phases[-1]) if phases else "starting"
    name = Path(path).name
    if code == 0 and lines and lines[-1] == "ok":
        return ProbeResult(_memory(lines))
    if code is None:
        raise BadInputError(f"{name}: the model hung the interpreter (no result within {timeout:g} s while {phase})")
    errors = [ln[len("error:"):].strip() for ln in lines if ln.startswith("error:")]
    if errors:
        code_text, _, message = errors[-1].partition(": ")
        cls = error_for_exit_code(int(code_text) if code_text.isdigit() else None, BadInputError)
        raise cls(message)
    if code < 0:
        raise BadInputError(
            f"{name}: the model crashed the interpreter with {_signal_name(code)} while {phase}; "
            "the file is malformed or uses an op this interpreter cannot run"
        )
    memory = any("MemoryError" in ln or "bad_alloc" in ln for ln in lines)
    detail = f"it ran out of memory (limit {memory_mib} MiB)" if memory else f"exit status {code}"
    raise BadInputError(f"{name}: the interpreter failed while {phase} ({detail})")


def _memory(lines: list[str]) -> float | None:
    """The child's 'memory: BEFORE PEAK' line (KiB) as MiB attributable to the model."""
    for line in lines:
        if line.startswith("memory:"):
            try:
                before, peak = (int(v) for v in line.split()[1:3])
            except ValueError:
                return None
            return round(max(peak - before, 0) / 1024, 2)
    return None


def _status_kib(field: str) -> int:
    """A memory field of /proc/self/status in KiB (0 where there is no /proc).

    VmHWM is this process image's own peak; ru_maxrss is not used because after a fork it
    can carry the parent's peak (a large host process would inflate a tiny model's figure)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _run_child(path: str, backend: str, threads: int | None) -> int:
    import numpy as np

    from .interpreter import import_backend, make_interpreter
    from .tflite_file import check_tflite_bytes

    def phase(name):
        print(f"phase: {name}", flush=True)

    try:
        phase("read")
        data = Path(path).read_bytes()
        check_tflite_bytes(data, path)
        import_backend(backend)
        before = _status_kib("VmRSS")
        phase("load")
        interpreter, _ = make_interpreter(data, backend, threads, source=path)
        phase("allocate")
        interpreter.allocate_tensors()
        phase("invoke")
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        interpreter.invoke()
        print(f"memory: {before} {_status_kib('VmHWM')}", flush=True)
    except EdgekitError as exc:
        print(f"error: {exc.exit_code}: {exc.message}", flush=True)
        return 3
    except OSError as exc:
        print(f"error: 3: cannot read {path}: {exc.strerror or exc}", flush=True)
        return 3
    except MemoryError:
        print("error: 3: MemoryError", flush=True)
        return 3
    print("ok", flush=True)
    return 0


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m edgekit.runtime.probe")
    parser.add_argument("path")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    return _run_child(args.path, args.backend, args.threads)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
