"""`edgekit device check` and `edgekit device setup`: what a device is, and installing the
edgekit runtime on it with no internet on the device.

On the device, WORKDIR holds:
    site/            the unpacked wheels (edgekit, numpy, ai-edge-litert and dependencies)
    installed.json   what was installed (wheel names and SHA-256), the backend verified
    runs/            temporary folders of uploads and benchmark runs, removed afterwards
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Callable

from .._files import temp_folder
from .inventory import Device
from .remote import call_script, check_python, probe, push_files, remove_folder
from .ssh import Connection
from .wheels import Target, download_wheels, edgekit_wheel, target_for

RECORD_FORMAT = "edgekit.device-runtime/1"
INSTALL_TIMEOUT_S = 600  # unpacking ~100 MB onto a slow SD card, then importing numpy


def default_wheel_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgekit" / "wheels"


def check_device(device: Device, *, accept_new_host_key: bool = False) -> dict:
    """One round trip: machine facts, free disk and memory, and the runtime's state."""
    started = time.perf_counter()
    facts, runtime = probe(Connection(device, accept_new_host_key))
    return {"schema": "edgekit.device-check/1", "device": device.to_dict(), "facts": facts, "runtime": runtime,
            "seconds": round(time.perf_counter() - started, 2)}


def setup_device(device: Device, *, wheels: Path | None = None, offline: bool = False, force: bool = False,
                 accept_new_host_key: bool = False, on_step: Callable[[str], None] | None = None) -> dict:
    """Install (or confirm) the runtime on `device`; idempotent unless `force`."""
    step = on_step or (lambda message: None)
    conn = Connection(device, accept_new_host_key)
    started = time.perf_counter()
    step(f"connecting to {device.address}")
    info = call_script(conn, "prepare", device.workdir, doing="checking Python on the device")
    check_python(info, conn)
    target = target_for(info, device.name)
    cache = Path(wheels) if wheels else default_wheel_cache()
    step(f"runtime wheels for {target.describe()} ({'offline, ' if offline else ''}cache {cache})")
    with temp_folder("edgekit-setup-") as tmp:
        files = download_wheels(target, cache, offline) + [edgekit_wheel(Path(tmp))]
        record = runtime_record(files, target)
        installed = info["runtime"]
        if not force and installed is not None and same_wheels(installed, record):
            step("already installed; nothing to do")
            return _summary(device, info, target, installed, changed=False, started=started)
        upload = f"{info['workdir']}/runs/setup-{uuid.uuid4().hex[:12]}"
        size = sum(p.stat().st_size for p in files)
        step(f"uploading {len(files)} wheels ({size / 2**20:.1f} MiB)")
        try:
            push_files(conn, [(p.name, p) for p in files], upload, doing="uploading the runtime wheels")
            step("unpacking and verifying the import on the device")
            done = call_script(conn, "install", info["workdir"], upload, _json(record), cleanup=upload, always=True,
                               timeout=device.command_timeout + INSTALL_TIMEOUT_S, doing="installing the runtime")
        except BaseException:
            remove_folder(conn, upload)
            raise
    record.update(backend=done["backend"], versions=done["versions"])
    return _summary(device, info, target, record, changed=True, started=started)


def runtime_record(files: list[Path], target: Target) -> dict:
    from .._files import sha256_file

    wheels = [{"name": p.name, "sha256": sha256_file(p), "size": p.stat().st_size} for p in files]
    edgekit = next(w for w in wheels if w["name"].startswith("edgekit-"))
    return {"format": RECORD_FORMAT, "target": target.to_dict(), "wheels": wheels, "edgekit_wheel": edgekit}


def same_wheels(installed: dict, record: dict) -> bool:
    def key(r):
        return sorted((w.get("name"), w.get("sha256")) for w in r.get("wheels") or [])

    return installed.get("format") == RECORD_FORMAT and key(installed) == key(record)


def _summary(device, info, target, record, *, changed: bool, started: float) -> dict:
    return {
        "schema": "edgekit.device-setup/1", "device": device.to_dict(), "changed": changed, "workdir": info["workdir"], "site": info["site"],
        "target": target.to_dict(), "backend": record.get("backend"), "versions": record.get("versions"),
        "wheels": record.get("wheels"), "seconds": round(time.perf_counter() - started, 2),
    }


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"))
