"""`edgekit bench --device`: the same `run_benchmark`, run on a device over SSH.

The host prepares what the device cannot: the evaluation data as model-ready arrays (so the
device needs neither Pillow nor scikit-learn) and the reference outputs (a .keras reference
needs TensorFlow), saved as a reference .npz tied to those arrays. Then, per device: check
the runtime, upload the models and those files (SHA-256 checked), run
`python -m edgekit.bench.remote` there while its progress streams back, and return its
result (an edgekit.artifact.BenchResult, validated) with the device's facts, host paths and the device named.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import __version__
from .._files import sha256_file, temp_folder
from ..artifact import BenchResult, DeviceInfo, SystemFacts, to_json
from ..bench.run import ReferenceOutputs
from ..bench.sweep import Sweep
from ..data import Dataset
from ..errors import BadInputError, DeviceError, EdgekitError, Interrupted, UsageError, error_for_exit_code
from ..runtime.timing import TimingConfig
from . import ssh
from .inventory import Device
from .profiles import Profile, load_profile
from .remote import call_script, check_exit, check_python, push_files, remove_folder
from .ssh import Connection, Session
from .wheels import edgekit_wheel

STOP_GRACE_S = 30.0  # after "stop", how long the device may take to send its partial results


class StoppedError(Interrupted):
    """The run was stopped (Ctrl-C) before the device had measured anything."""


@dataclass
class Cancel:
    """Ctrl-C on the host: `stop` asks devices for partial results; `force` drops them."""

    stop: threading.Event = field(default_factory=threading.Event)
    force: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class BenchRequest:
    """What to measure, the same for a local and a remote run: `data` and `reference` are
    specs (paths) the host resolves; `save_reference_to` keeps the reference outputs.
    `xnnpack=False` runs the builtin kernels; `sweep` measures every model under several
    runtime settings from one upload, skipping dominated models (edgekit.bench.sweep);
    `delegate="edgetpu"` runs on a Coral Edge TPU (on the device when there is one),
    `device` names which: usb, usb:0, pci, pci:0 (default: the first found)."""

    data: str | None = None
    reference: str | None = None
    save_reference_to: str | None = None
    timing: TimingConfig = TimingConfig()
    threads: int | None = None
    backend: str = "auto"
    min_relative_accuracy: float = 0.99
    xnnpack: bool = True
    sweep: Sweep | None = None
    delegate: str | None = None
    device: str | None = None

    def __post_init__(self):
        if self.sweep is not None and (self.reference or self.threads is not None or not self.xnnpack
                                       or self.delegate or self.device):
            raise UsageError("a `sweep` sets the threads and XNNPACK of each run and compares no `reference`; "
                             "leave `threads`, `xnnpack`, `delegate`, `device` and `reference` unset")
        self._check_delegate()
        if self.save_reference_to and not self.reference:
            raise UsageError("`save_reference_to` needs `reference` (the float model whose outputs to save)")
        if self.reference and not self.data:
            raise UsageError("`reference` needs `data` (the inputs to compare the models on)")
        if not 0 < self.min_relative_accuracy <= 1:
            raise UsageError(f"`min_relative_accuracy` must be in (0, 1]; received {self.min_relative_accuracy}")


    def _check_delegate(self) -> None:
        from ..runtime.edgetpu import check_device
        from ..runtime.interpreter import DELEGATES

        if self.delegate is not None and self.delegate not in DELEGATES:
            raise UsageError(f"`delegate` {self.delegate!r} is not one edgekit knows; use {', '.join(DELEGATES)} "
                             "(or none: the CPU)")
        if self.delegate is not None and not self.xnnpack:
            raise UsageError("`xnnpack` is about CPU kernels; with a `delegate` leave it on")
        check_device(self.device)


@dataclass(frozen=True)
class HostInputs:
    """The data and reference outputs, prepared once on the host for every device."""

    models: tuple  # local paths
    data: Dataset | None
    reference: ReferenceOutputs | None


def prepare_inputs(models, request: BenchRequest, threads=None) -> HostInputs:
    """Load the data (preprocessed as the first model's manifest says) and compute the
    reference outputs on it here (a Keras reference runs TensorFlow on this computer)."""
    from ..bench.data import load_bench_data
    from ..bench.reference import save_reference
    from ..models.outputs import reference_outputs

    paths = tuple(Path(m) for m in models)
    for path in paths:
        if not path.exists():
            raise BadInputError(f"model file not found: {path}; check the path")
        if not path.is_file():
            raise BadInputError(f"{path} is not a regular file (a folder, FIFO or device); pass a .tflite file")
    if request.data is None:
        return HostInputs(paths, None, None)
    dataset = load_bench_data(request.data, paths[0])
    if request.reference is None:
        return HostInputs(paths, dataset, None)
    reference = reference_outputs(request.reference, dataset.x, threads=threads)
    reference = replace(reference, info=replace(reference.info, computed_on="host"))
    if request.save_reference_to:
        save_reference(request.save_reference_to, reference, dataset.x)
        reference = replace(reference, info=replace(reference.info, saved_to=str(request.save_reference_to)))
    return HostInputs(paths, dataset, reference)


def write_inputs(inputs: HostInputs, folder: Path) -> tuple[str | None, str | None]:
    """data.npz and reference.npz in `folder` for the upload; their names (None: absent)."""
    from ..bench.reference import save_reference

    if inputs.data is None:
        return None, None
    arrays = {"x": inputs.data.x}
    if inputs.data.y is not None:
        arrays["y"] = inputs.data.y
        if inputs.data.class_names is not None:
            arrays["class_names"] = np.array(inputs.data.class_names)
    np.savez(folder / "data.npz", **arrays)
    if inputs.reference is None:
        return "data.npz", None
    save_reference(folder / "reference.npz", inputs.reference, inputs.data.x)
    return "data.npz", "reference.npz"


def upload_list(inputs: HostInputs, folder: Path, names: tuple) -> list[tuple[str, Path]]:
    """(remote name, local path): models in m0/, m1/... (names may repeat), sidecar
    manifests beside them, then data.npz and reference.npz."""
    files = []
    for i, path in enumerate(inputs.models):
        files.append((f"m{i}/{path.name}", path))
        sidecar = path.with_suffix(".json")
        if sidecar.is_file():
            files.append((f"m{i}/{sidecar.name}", sidecar))
    files += [(name, folder / name) for name in names if name]
    return files


def bench_on_device(device: Device, inputs: HostInputs, request: BenchRequest, *, accept_new_host_key=False,
                    on_step=None, on_tick=None, cancel: Cancel | None = None) -> BenchResult:
    """Benchmark `inputs.models` on `device`: the result of run_benchmark made there, with
    host paths, the device named and its profile's warnings."""
    step = on_step or (lambda message: None)
    cancel = cancel or Cancel()
    conn = Connection(device, accept_new_host_key)
    profile = load_profile(device.profile) if device.profile else None
    request = _profile_defaults(profile, request)
    started = time.perf_counter()
    step(f"connecting to {device.address}")
    info = call_script(conn, "prepare", device.workdir, doing="checking the device")
    check_python(info, conn)
    warnings = check_runtime(info, device)
    run_dir = f"{info['workdir']}/runs/{uuid.uuid4().hex[:12]}"  # made by the upload
    try:
        step(f"uploading {len(inputs.models)} model(s) and data")
        with temp_folder("edgekit-run-") as tmp:
            names = write_inputs(inputs, Path(tmp))
            config_file = Path(tmp) / "config.json"
            config_file.write_text(json.dumps(_config(inputs, names, run_dir, request)))
            files = upload_list(inputs, Path(tmp), names) + [("config.json", config_file)]
            push_files(conn, files, run_dir, doing="uploading the models and data")
        upload_s = time.perf_counter() - started
        answer = _run(conn, info["site"], run_dir, step, on_tick, cancel)
    except BaseException:
        remove_folder(conn, run_dir)
        raise
    result = BenchResult.from_json(answer, f"the benchmark result from {device.name}")
    result = replace(result, warnings=result.warnings + tuple(warnings) + _profile_warnings(profile, result.system))
    return _host_view(result, inputs, device, profile, info, upload_s, time.perf_counter() - started)


def _profile_defaults(profile: Profile | None, request: BenchRequest) -> BenchRequest:
    """Threads and backend from the device's profile where the request leaves them open."""
    if profile is None:
        return request
    threads = profile.threads if request.threads is None and request.sweep is None else request.threads  # a sweep sets its own
    return replace(request, threads=threads, backend=profile.backend if request.backend == "auto" else request.backend)


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
    with temp_folder("edgekit-wheels-") as tmp:
        local = sha256_file(edgekit_wheel(Path(tmp)))
    if (record.get("edgekit_wheel") or {}).get("sha256") != local:
        return [f"the edgekit sources on {device.name} differ from this computer's (same version "
                f"{__version__}); {fix} to run the same code"]
    return []


def _config(inputs: HostInputs, names: tuple, run_dir: str, request: BenchRequest) -> dict:
    """What the device-side entry point (edgekit.bench.remote) reads."""
    return {
        "run_dir": run_dir,
        "models": [f"m{i}/{p.name}" for i, p in enumerate(inputs.models)],
        "data": names[0], "reference": names[1],
        "timing": to_json(request.timing.settings()),
        "threads": request.threads, "backend": request.backend,
        "min_relative_accuracy": request.min_relative_accuracy,
        "xnnpack": request.xnnpack, "sweep": None if request.sweep is None else to_json(request.sweep),
        "delegate": request.delegate, "device": request.device,
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
        error = messages["error"] if isinstance(messages["error"], dict) else {}
        cls = error_for_exit_code(error.get("exit_code"))
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


def _profile_warnings(profile: Profile | None, system: SystemFacts) -> tuple[str, ...]:
    if profile is None:
        return ()
    warnings = []
    if profile.check_governor and not system.governors:
        warnings.append("the CPU frequency governor could not be read (no cpufreq): latencies may include frequency changes")
    if profile.check_throttling and system.throttled is None:
        warnings.append("throttling was not checked: vcgencmd is missing on the device (Raspberry Pi OS has it in raspi-utils / libraspberrypi-bin)")
    if profile.machine and system.machine != profile.machine:
        warnings.append(f"profile {profile.name} expects {profile.machine}, the device is {system.machine}")
    return tuple(warnings)


def _host_view(result: BenchResult, inputs: HostInputs, device: Device, profile, info: dict, upload_s: float,
               total_s: float) -> BenchResult:
    """Host paths and descriptions in place of the device's temporary ones, the device named."""
    by_name = {f"m{i}/{p.name}": p for i, p in enumerate(inputs.models)}  # the upload's names (a sweep repeats models)
    models = tuple(replace(m, path=str(by_name.get("/".join(Path(m.path).parts[-2:]), m.path))) for m in result.models)
    reference = result.reference
    if inputs.reference is not None:
        reference = replace(inputs.reference.info, accuracy=None if reference is None else reference.accuracy)
    elif reference is not None and reference.kind == "first-model" and inputs.models:
        reference = replace(reference, path=str(inputs.models[0]))
    record = info["runtime"] or {}
    where = DeviceInfo(
        name=device.name, address=device.address, profile=None if profile is None else profile.name,
        workdir=info["workdir"], runtime={"backend": record.get("backend"), "versions": record.get("versions")},
        upload_s=round(upload_s, 2), total_s=round(total_s, 2),
    )
    data = result.data if inputs.data is None else inputs.data.to_summary()
    return replace(result, models=models, reference=reference, data=data, device=where)


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def _tail(text: str, lines: int = 3) -> str:
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(kept[-lines:]) or "nothing on stderr"
