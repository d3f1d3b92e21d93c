"""Facts about the machine a benchmark runs on, and the checks that make its numbers valid.

Standard library only: this runs on the device.
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
    return {
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
        "os": (_read("/etc/os-release") or "").split("PRETTY_NAME=", 1)[-1].split("\n", 1)[0].strip('"') or None,
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "board": _read("/proc/device-tree/model"),
        "governors": sorted(set(governors())),
        "throttled": throttled(),
        "executable": sys.executable,
    }


def validity_warnings(facts: dict, models: list[dict], max_cv: float = 0.10) -> list[str]:
    """Reasons to distrust the latency numbers: noisy runs, a power-saving governor, throttling."""
    warnings = []
    for model in models:
        stats = model.get("latency") or {}
        if stats.get("cv") is not None and stats["cv"] > max_cv:
            warnings.append(
                f"{model['name']}: latency varies a lot (coefficient of variation "
                f"{100 * stats['cv']:.0f}% > {100 * max_cv:.0f}%); close other programs, add "
                "--runs/--min-time, or pin the CPU frequency"
            )
    other = [g for g in facts.get("governors", []) if g != "performance"]
    if other:
        warnings.append(
            f"CPU frequency governor is {', '.join(other)}, not 'performance': latencies include "
            "frequency ramp-up (set it with cpupower frequency-set -g performance)"
        )
    state = facts.get("throttled")
    if state not in (None, "0x0", "0"):
        warnings.append(
            f"the board reports throttling (vcgencmd get_throttled = {state}): under-voltage or "
            "heat; use the official power supply and a heatsink/fan"
        )
    return warnings
