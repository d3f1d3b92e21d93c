"""Where `edgekit optimize` measures: this machine, or a device (or group) over SSH, checked
before anything is converted: reachable, runtime installed and current, its cores."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import BadInputError, DeviceError, UsageError
from .result import TargetInfo


@dataclass(frozen=True)
class Target:
    info: TargetInfo
    devices: str | None = None  # what edgekit.devices.benchmark is given (None: here)
    accept_new_host_key: bool = False
    warnings: tuple[str, ...] = ()


def local_cores() -> int:
    """The CPUs this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def thread_counts(threads, cores: int, where: str) -> tuple[int, ...]:
    """1..cores, or the counts asked for (each from 1 to the cores), largest first."""
    if threads is None:
        return tuple(range(cores, 0, -1))
    counts = tuple(sorted({int(t) for t in threads}, reverse=True)) if threads else ()
    if not counts or any(isinstance(t, bool) or not isinstance(t, int) for t in threads):
        raise UsageError(f"`threads` takes whole numbers from 1 to the cores, e.g. 1,2,4; received {threads!r}")
    if counts[-1] < 1 or counts[0] > cores:
        raise BadInputError(f"`threads` {','.join(map(str, sorted(counts)))}: {where} has {cores} cores; "
                            f"choose thread counts from 1 to {cores}")
    return counts


def local_target(threads=None, accept_new_host_key: bool = False, edgetpu: bool = False) -> Target:
    from ..bench.validity import machine_facts

    if accept_new_host_key:
        raise UsageError("`accept_new_host_key` applies to runs on devices (`devices`) only; name the devices or drop it")
    if edgetpu:
        check_edgetpu_here()
    cores = local_cores()
    info = TargetInfo(kind="this machine", name="this machine", devices=(), cores=cores,
                      threads=thread_counts(threads, cores, "this machine"), xnnpack_switchable=True,
                      backend="auto", system=machine_facts(), edgetpu=edgetpu)
    return Target(info)


def check_edgetpu_here() -> None:
    """The Edge TPU delegate loads on this machine (libedgetpu and a Coral plugged in), else
    the runtime's DeviceError (exit 4) saying what to install, before anything is converted."""
    from ..runtime import make_interpreter

    try:
        make_interpreter(b"", delegate="edgetpu", source="the Edge TPU check")
    except BadInputError:
        pass  # the delegate loaded; the empty model it was given did not, as meant


def device_target(spec: str, threads=None, accept_new_host_key: bool = False, step=None,
                  edgetpu: bool = False) -> Target:
    """Devices checked in one round trip each: reachable (else DeviceError, exit 4), the
    runtime installed and of this edgekit version (else: run `edgekit device setup NAME`)."""
    from ..artifact import SystemFacts
    from ..devices import check_device, load_inventory, resolve_devices
    from ..devices.bench import check_runtime

    devices = resolve_devices(spec, load_inventory())
    cores, warnings, facts = [], [], None
    for device in devices:
        if step:
            step(f"checking {device.name} ({device.address})")
        found = check_device(device, accept_new_host_key=accept_new_host_key)
        runtime = found["runtime"]
        if not runtime.get("installed"):
            why = runtime.get("error") or f"nothing installed in {found['facts'].get('workdir')}"
            raise DeviceError(f"{device.name}: the edgekit runtime is not usable on the device ({why}); "
                              f"run: edgekit device setup {device.name}")
        warnings += check_runtime({"runtime": runtime["record"], "workdir": found["facts"].get("workdir")}, device)
        cores.append(int(found["facts"].get("cpu_count") or 1))
        facts = facts or SystemFacts(**{k: found["facts"].get(k) for k in SystemFacts.__dataclass_fields__
                                        if k in found["facts"]} | {"governors": tuple(found["facts"].get("governors") or ())})
    names = tuple(d.name for d in devices)
    where = names[0] if len(names) == 1 else f"the smallest device of {spec}"
    info = TargetInfo(kind="device" if len(devices) == 1 else "group", name=spec, devices=names, cores=min(cores),
                      threads=thread_counts(threads, min(cores), where), xnnpack_switchable=True, backend="auto",
                      system=facts, edgetpu=edgetpu)
    return Target(info, spec, accept_new_host_key, tuple(warnings))
