"""Facts about the machine a benchmark runs on.

Standard library only and no relative import: `edgekit device check` sends this file's text
to a device that has no edgekit yet, ahead of its probe script. The typed view and the
validity checks are in `validity.py`.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00 \n")
    except OSError:
        return None


def cpu_model() -> str | None:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        for line in text.splitlines():
            if line.lower().startswith(key.lower()) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def governors() -> list[str]:
    """The scaling governor of each CPU that has cpufreq (empty where cpufreq is absent)."""
    found = []
    for path in sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor")):
        value = _read(str(path))
        if value:
            found.append(value)
    return found


def throttled() -> str | None:
    """`vcgencmd get_throttled` output (Raspberry Pi firmware), or None where it is absent."""
    tool = shutil.which("vcgencmd")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, "get_throttled"], capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().split("=", 1)[-1] or None


def system_facts() -> dict:
    """Architecture, OS, Python, CPU, board, cores, governors and throttling state."""
    os_release = (_read("/etc/os-release") or "").split("PRETTY_NAME=", 1)[-1].split("\n", 1)[0].strip('"')
    return {
        "machine": platform.machine(), "system": platform.system(), "release": platform.release(),
        "python": platform.python_version(), "os": os_release or None, "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(), "board": _read("/proc/device-tree/model"),
        "governors": sorted(set(governors())), "throttled": throttled(), "executable": sys.executable,
    }
