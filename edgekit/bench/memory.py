"""Resident memory of this process (Linux /proc and getrusage): standard library only."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path


def rss_mib() -> float | None:
    """Current resident memory of this process, in MiB (None where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """The highest resident memory this process has had, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
