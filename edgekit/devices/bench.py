"""`edgekit bench --device`: the same `run_benchmark`, run on a device over SSH.

The host prepares what the device cannot: the evaluation data as model-ready arrays (so the
device needs neither Pillow nor scikit-learn) and the reference outputs (a .keras reference
needs TensorFlow), saved as a reference .npz tied to those arrays. Then, per device: check
the runtime, upload the models and those files (SHA-256 checked), run
`python -m edgekit.bench.remote` there while its progress streams back, and return its
result (schema edgekit.bench/1) with the device's facts, host paths and the device named.
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from .._files import sha256_file
from ..errors import BadInputError, BoundError, DeviceError, EdgekitError, UsageError
from . import ssh
from .inventory import Device
from .profiles import Profile, load_profile
from .remote import call_script, check_exit, check_python, push_files, remove_folder
from .ssh import Connection, Session
from .wheels import edgekit_wheel

STOP_GRACE_S = 30.0  # after "stop", how long the device may take to send its partial results
_ERRORS = {2: UsageError, 3: BadInputError, 4: DeviceError, 5: BoundError}


class StoppedError(EdgekitError):
    """The run was stopped (Ctrl-C) before the device had measured anything."""

    exit_code = 130


@dataclass
class Cancel:
    """Ctrl-C on the host: `stop` asks devices for partial results; `force` drops them."""

    stop: threading.Event = field(default_factory=threading.Event)
    force: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class HostInputs:
    """Files every device gets, prepared once on the host."""

    models: tuple  # local paths
    folder: Path  # holds data.npz / reference.npz
    data: str | None  # file name in folder
    reference: str | None
    data_summary: dict | None
    reference_info: dict | None


def prepare_inputs(models, folder: Path, *, data=None, reference=None, save_reference_to=None,
                   threads=None) -> HostInputs:
    """Data as data.npz and the reference outputs as reference.npz, in `folder`."""
    from ..bench.reference import reference_outputs, save_reference
    from ..bench.run import load_bench_data
    from ..runtime import load

    paths = tuple(Path(m) for m in models)
    for path in paths:
        if not path.is_file():
            raise BadInputError(f"model file not found: {path}; check the path")
    _check_options(data, reference, save_reference_to)
    if data is None:
        return HostInputs(paths, folder, None, None, None, None)
    dataset = load_bench_data(data, load(paths[0]))
    arrays = {"x": dataset.x}
    if dataset.y is not None:
        arrays["y"] = dataset.y
        if dataset.class_names is not None:
            arrays["class_names"] = np.array(dataset.class_names)
    np.savez(folder / "data.npz", **arrays)
    if reference is None:
        return HostInputs(paths, folder, "data.npz", None, dataset.to_summary(), None)
    outputs, info = reference_outputs(reference, dataset.x, threads=threads)
    save_reference(folder / "reference.npz", outputs, dataset.x, str(reference))
    if save_reference_to:
        save_reference(save_reference_to, outputs, dataset.x, str(reference))
        info["saved_to"] = str(save_reference_to)
    info["computed_on"] = "host"
    return HostInputs(paths, folder, "data.npz", "reference.npz", dataset.to_summary(), info)


def _check_options(data, reference, save_reference_to) -> None:
    if save_reference_to and not reference:
        raise UsageError("--save-reference needs --reference (the float model whose outputs to save)")
    if reference and not data:
        raise UsageError("--reference needs --data (the inputs to compare the models on)")


def upload_list(inputs: HostInputs) -> list[tuple[str, Path]]:
    """(remote name, local path): models in m0/, m1/... (names may repeat), sidecar
    manifests beside them, then data.npz and reference.npz."""
    files = []
    for i, path in enumerate(inputs.models):
        files.append((f"m{i}/{path.name}", path))
        sidecar = path.with_suffix(".json")
        if sidecar.is_file():
            files.append((f"m{i}/{sidecar.name}", sidecar))
    for name in (inputs.data, inputs.reference):
        if name:
            files.append((name, inputs.folder / name))
    return files


def bench_on_device(device: Device, inputs: HostInputs, *, timing, threads=None, backend="auto",
                    min_relative_accuracy=0.99, accept_new_host_key=False, on_step=None, on_tick=None,
                    cancel: Cancel | None = None) -> dict:
    """Benchmark `inputs.models` on `device`; the result of run_benchmark made there."""
    step = on_step or (lambda message: None)
    cancel = cancel or Cancel()
    conn = Connection(device, accept_new_host_key)
    profile = load_profile(device.profile) if device.profile else None
    threads, backend = _profile_defaults(profile, threads, backend)
    started = time.perf_counter()
    step(f"connecting to {device.address}")
    info = call_script(conn, "prepare", device.workdir, doing="checking the device")
    check_python(info, conn)
    warnings = check_runtime(info, device)
    run_dir = f"{info['workdir']}/runs/{uuid.uuid4().hex[:12]}"  # made by the upload
    config = _config(inputs, run_dir, timing, threads, backend, min_relative_accuracy)
    try:
        step(f"uploading {len(inputs.models)} model(s) and data")
        with tempfile.TemporaryDirectory(prefix="edgekit-run-") as tmp:
            config_file = Path(tmp) / "config.json"
            config_file.write_text(json.dumps(config))
            files = upload_list(inputs) + [("config.json", config_file)]
            push_files(conn, files, run_dir, doing="uploading the models and data")
        upload_s = time.perf_counter() - started
        result = _run(conn, info["site"], run_dir, step, on_tick, cancel)
    except BaseException:
        remove_folder(conn, run_dir)
        raise
    result["warnings"] = list(result.get("warnings") or []) + warnings + _profile_warnings(profile, result["system"])
    return _host_view(result, inputs, device, profile, info, upload_s, time.perf_counter() - started)


def _profile_defaults(profile: Profile | None, threads, backend):
    if profile is None:
        return threads, backend
    return (profile.threads if threads is None else threads,
            profile.backend if backend == "auto" else backend)


def check_runtime(info: dict, device: Device) -> list[str]:
    """The runtime must be installed and of the host's edgekit version; warnings when it was
    built from other sources of that version."""
    record = info["runtime"]
    fix = f"run: edgekit device setup {device.name}"
    if record is None:
        raise DeviceError(f"{device.name}: the edgekit runtime is not installed in {info['workdir']} on the device; {fix}")
    versions = record.get("versions") or {}
    if versions.get("edgekit") != __version__:
        raise DeviceError(
            f"{device.name}: the device has edgekit {versions.get('edgekit')} and this computer "
            f"{__version__}; {fix} to update it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = sha256_file(edgekit_wheel(Path(tmp)))
    if (record.get("edgekit_wheel") or {}).get("sha256") != local:
        return [f"the edgekit sources on {device.name} differ from this computer's (same version "
                f"{__version__}); {fix} to run the same code"]
    return []


def _config(inputs: HostInputs, run_dir: str, timing, threads, backend, min_relative_accuracy) -> dict:
    return {
        "run_dir": run_dir,
        "models": [f"m{i}/{p.name}" for i, p in enumerate(inputs.models)],
        "data": inputs.data, "reference": inputs.reference,
        "timing": {"runs": timing.runs, "min_time": timing.min_time, "warmup": timing.warmup,
                   "warmup_time": timing.warmup_time, "max_runs": timing.max_runs},
        "threads": threads, "backend": backend, "min_relative_accuracy": min_relative_accuracy,
    }


def _boot_argv(python: str, site: str, config_path: str) -> list[str]:
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from edgekit.bench.remote import main; sys.exit(main(sys.argv[2:]))")
    return [python, "-c", boot, site, config_path]


def _run(conn: Connection, site: str, run_dir: str, step, on_tick, cancel: Cancel) -> dict:
    """Start the entry point on the uploaded config and follow its messages to the end."""
    command = ssh.wrapped(_boot_argv(conn.device.python, site, f"{run_dir}/config.json"), cleanup=run_dir, always=True)
    session = Session(conn, command)
    try:
        messages, reply = _follow(session, conn.device, step, on_tick, cancel)
    except BaseException:
        session.kill()
        raise
    return _outcome(messages, reply, conn, messages.get("last_step"))


def _follow(session: Session, device: Device, step, on_tick, cancel: Cancel):
    """Read protocol lines until the remote command ends; returns (messages, reply)."""
    found, other = {}, []
    silent_limit = device.command_timeout
    last_heard, stop_sent = time.monotonic(), None
    while True:
        if cancel.force.is_set():
            session.kill()
            raise StoppedError(f"{device.name}: stopped")
        if cancel.stop.is_set() and stop_sent is None:
            session.send_line("stop")
            stop_sent = time.monotonic()
        if stop_sent is not None and time.monotonic() - stop_sent > STOP_GRACE_S:
            session.kill()
            raise StoppedError(f"{device.name}: stopped; the device sent no partial results within {STOP_GRACE_S:.0f} s")
        try:
            line = session.lines.get(timeout=0.2)
        except queue.Empty:
            if time.monotonic() - last_heard > silent_limit:
                session.kill()
                raise DeviceError(
                    f"{device.name}: no word from the device for {silent_limit:.0f} s during the benchmark "
                    f"(last step: {found.get('last_step') or 'starting'}); raise command_timeout in the inventory if that is normal"
                )
            continue
        if line is None:
            break
        last_heard = time.monotonic()
        message = _json(line)
        if not isinstance(message, dict):
            other.append(line)
        elif "step" in message:
            found["last_step"] = message["step"]
            step(message["step"])
        elif "tick" in message and on_tick is not None:
            on_tick(*message["tick"])
        else:
            found.update({k: v for k, v in message.items() if k in ("result", "error", "stopped")})
    session.close_stdin()
    return found, session.finish(other, timeout=STOP_GRACE_S, doing=f"benchmarking ({found.get('last_step') or 'starting'})")


def _outcome(messages: dict, reply, conn: Connection, last_step) -> dict:
    name = conn.device.name
    if "result" in messages:
        return messages["result"]
    if "error" in messages:
        error = messages["error"]
        cls = _ERRORS.get(error.get("exit_code"), EdgekitError)
        detail = "" if cls is not EdgekitError else f" (edgekit failed on the device, a bug; its log: {_tail(reply.stderr)})"
        raise cls(f"{name}: {error.get('message')}{detail}")
    if messages.get("stopped"):
        raise StoppedError(f"{name}: stopped before any model was measured")
    if reply.signal_name is not None:
        raise BadInputError(
            f"{name}: the interpreter crashed on the device ({reply.signal_name}) while "
            f"{last_step or 'starting'}: a model this runtime cannot run (malformed, or an op it "
            "does not support); the connection is fine. Try the model with edgekit bench on this computer"
        )
    check_exit(reply, conn, last_step or "starting the benchmark")
    raise DeviceError(f"{name}: the benchmark ended without a result (exit {reply.exit_code}): {_tail(reply.stderr)}")


def _profile_warnings(profile: Profile | None, system: dict) -> list[str]:
    if profile is None:
        return []
    warnings = []
    if profile.check_governor and not system.get("governors"):
        warnings.append("the CPU frequency governor could not be read (no cpufreq): latencies may include frequency changes")
    if profile.check_throttling and system.get("throttled") is None:
        warnings.append("throttling was not checked: vcgencmd is missing on the device (Raspberry Pi OS has it in raspi-utils / libraspberrypi-bin)")
    if profile.machine and system.get("machine") != profile.machine:
        warnings.append(f"profile {profile.name} expects {profile.machine}, the device is {system.get('machine')}")
    return warnings


def _host_view(result: dict, inputs: HostInputs, device: Device, profile, info: dict, upload_s: float, total_s: float) -> dict:
    """Host paths and descriptions in place of the device's temporary ones, the device named."""
    for model, path in zip(result.get("models") or [], inputs.models):
        model["path"] = str(path)
    if inputs.data_summary is not None:
        result["data"] = inputs.data_summary
    device_ref = result.get("reference") or {}
    if inputs.reference_info is not None:
        result["reference"] = {**inputs.reference_info, "accuracy": device_ref.get("accuracy")}
    elif device_ref.get("kind") == "first-model" and inputs.models:
        device_ref["path"] = str(inputs.models[0])
    record = info["runtime"] or {}
    result["device"] = {
        "name": device.name, "address": device.address, "profile": None if profile is None else profile.name,
        "workdir": info["workdir"], "runtime": {"backend": record.get("backend"), "versions": record.get("versions")},
        "upload_s": round(upload_s, 2), "total_s": round(total_s, 2),
    }
    return result


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def _tail(text: str, lines: int = 3) -> str:
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(kept[-lines:]) or "nothing on stderr"
