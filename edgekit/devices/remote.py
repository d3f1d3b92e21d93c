"""Running edgekit's device-side scripts over SSH and turning what they say into values or
one-line errors; uploading files with their SHA-256 checked; removing remote folders."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from .._files import sha256_file
from ..errors import DeviceError
from . import ssh
from .ssh import Connection, Reply

MIN_PYTHON = (3, 10)
UPLOAD_BYTES_PER_S = 256 * 1024  # the slowest link we allow for before an upload times out
CLEANUP_TIMEOUT_S = 20


def script_text(name: str) -> str:
    """common.py + scripts/NAME.py; the probe also gets edgekit/bench/system.py first (its
    `from __future__` import must open the text)."""
    folder = resources.files("edgekit.devices.scripts")
    parts = [folder.joinpath("common.py").read_text(), folder.joinpath(f"{name}.py").read_text()]
    if name == "probe":
        parts.insert(0, resources.files("edgekit.bench").joinpath("system.py").read_text())
    return "\n".join(parts)


def python_argv(conn: Connection, name: str, *args: str) -> list[str]:
    return [conn.device.python, "-c", script_text(name), *args]


def call_script(conn: Connection, name: str, *args: str, timeout: float | None = None, doing: str,
                feed=None, cleanup: str | None = None, always: bool = False) -> dict:
    """Run scripts/NAME.py on the device and return its {"ok": ...} answer."""
    command = ssh.wrapped(python_argv(conn, name, *args), cleanup=cleanup, always=always)
    reply = ssh.run(conn, command, timeout=timeout or conn.device.command_timeout, doing=doing, feed=feed)
    return answer(reply, conn, doing)["ok"]


def answer(reply: Reply, conn: Connection, doing: str) -> dict:
    """The last JSON line of a script's output; failures become DeviceErrors."""
    check_exit(reply, conn, doing)
    messages = [m for m in (_json(line) for line in reply.lines) if isinstance(m, dict)]
    final = next((m for m in reversed(messages) if "ok" in m or "error" in m), None)
    if final is None:
        raise DeviceError(
            f"{conn.device.name}: Python at {conn.device.python!r} failed while {doing}: "
            f"{_last(reply.stderr) or 'no answer'}; edgekit needs Python {'.'.join(map(str, MIN_PYTHON))}+ on the device"
        )
    if "error" in final:
        raise script_error(final["error"], conn, doing)
    return final


def probe(conn: Connection) -> tuple[dict, dict]:
    """scripts/probe.py: (machine facts, runtime state). The facts arrive first, so a runtime
    whose import kills Python is reported as such, with the facts."""
    doing = "checking the device"
    command = ssh.wrapped(python_argv(conn, "probe", conn.device.workdir))
    reply = ssh.run(conn, command, timeout=conn.device.command_timeout, doing=doing)
    facts = next((m["facts"] for m in map(_json, reply.lines) if isinstance(m, dict) and "facts" in m), None)
    if facts is not None and reply.signal_name is not None:
        return facts, {"installed": False, "backend": None, "record": None,
                       "error": f"importing the runtime killed Python ({reply.signal_name}); "
                                f"reinstall it: edgekit device setup {conn.device.name} --force"}
    return facts, answer(reply, conn, doing)["ok"]


def check_exit(reply: Reply, conn: Connection, doing: str) -> None:
    """Errors that the exit status alone explains: lost connection, no Python, a crash."""
    name, python = conn.device.name, conn.device.python
    if reply.exit_code is None:
        raise DeviceError(
            f"{name}: lost the SSH connection while {doing} ({_last(reply.stderr) or 'no exit status came back'})"
        )
    if reply.exit_code in (126, 127):
        raise DeviceError(
            f"{name}: no Python at {python!r} on the device ({_last(reply.stderr)}); install "
            f"Python 3 there (Raspberry Pi OS ships python3), or set python = \"/path/to/python3\" "
            f"for {name} in the inventory"
        )
    if reply.signal_name is not None:
        raise DeviceError(f"{name}: Python on the device died of {reply.signal_name} while {doing}")


def script_error(error: dict, conn: Connection, doing: str) -> DeviceError:
    name, kind, message = conn.device.name, error.get("kind"), error.get("message", "")
    if kind == "disk_full":
        return DeviceError(
            f"{name}: the device ran out of disk space while {doing} ({message}); free some "
            f"space there or point workdir for {name} at a bigger disk (nothing was left behind)"
        )
    if kind == "verify":
        return DeviceError(f"{name}: {message}; nothing was changed on the device")
    return DeviceError(f"{name}: failed while {doing}: {message}")


def check_python(info: dict, conn: Connection) -> None:
    version = tuple(int(p) for p in info["python"].split(".")[:2])
    if version < MIN_PYTHON:
        raise DeviceError(
            f"{conn.device.name}: Python {info['python']} at {conn.device.python!r} is too old; edgekit "
            f"needs {'.'.join(map(str, MIN_PYTHON))} or newer (Raspberry Pi OS bookworm ships 3.11)"
        )


def push_files(conn: Connection, files: list[tuple[str, Path]], dest: str, doing: str) -> dict:
    """Upload `files` (remote relative name, local path) into `dest` on the device; every
    file's SHA-256 there must equal the local one. Returns {name: sha256}."""
    local = {name: sha256_file(path) for name, path in files}
    size = sum(Path(path).stat().st_size for _, path in files)

    def write(stdin: BinaryIO):
        for name, path in files:
            stdin.write(json.dumps({"name": name, "size": Path(path).stat().st_size}).encode() + b"\n")
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    stdin.write(block)
        stdin.write(b'{"end": true}\n')

    timeout = conn.device.command_timeout + size / UPLOAD_BYTES_PER_S
    remote = call_script(conn, "receive", dest, timeout=timeout, doing=doing, feed=write)["files"]
    wrong = sorted(name for name in local if remote.get(name) != local[name])
    if wrong:
        remove_folder(conn, dest)
        raise DeviceError(
            f"{conn.device.name}: upload corrupted: SHA-256 on the device differs for "
            f"{', '.join(wrong)}; nothing was kept there; check the device's storage and retry"
        )
    return local


def remove_folder(conn: Connection, path: str) -> bool:
    """Best effort: remove `path` on the device; False when the device cannot be reached."""
    try:
        reply = ssh.run(conn, ssh.wrapped(["true"], cleanup=path, always=True),
                        timeout=CLEANUP_TIMEOUT_S, doing=f"removing {path}")
    except DeviceError:
        return False
    return reply.exit_code == 0


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def _last(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
