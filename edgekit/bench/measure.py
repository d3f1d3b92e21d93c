"""Latency of one model: load time, first invoke, warm-up, timed runs (perf_counter_ns).

Runs on the device: numpy + edgekit.runtime only.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..runtime import Model, load
from ..runtime.timing import latency_stats


@dataclass(frozen=True)
class TimingConfig:
    """How long to measure: at least `runs` calls and at least `min_time` seconds, after a
    warm-up of at least `warmup` calls and `warmup_time` seconds; never more than max_runs."""

    runs: int = 100
    min_time: float = 1.0
    warmup: int = 10
    warmup_time: float = 0.5
    max_runs: int | None = None

    def __post_init__(self):
        if self.runs < 1:
            raise UsageError(f"--runs must be at least 1; received {self.runs}")
        if self.max_runs is None:
            object.__setattr__(self, "max_runs", max(self.runs, 100_000))
        if self.max_runs < self.runs:
            raise UsageError(f"max runs ({self.max_runs}) must be at least --runs ({self.runs})")
        for name, value in (("--min-time", self.min_time), ("--warmup", self.warmup),
                            ("--warmup-time", self.warmup_time)):
            if value < 0:
                raise UsageError(f"{name} must not be negative; received {value}")


def rss_mib() -> float | None:
    """Current resident memory of this process (Linux /proc), in MiB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def load_timed(path, backend="auto", threads=None, delegate=None, device=None,
               isolate=False) -> tuple[Model, float]:
    """Load a model and time it; with `isolate`, a child process first proves the file does
    not crash or hang the interpreter (not counted in the load time)."""
    if isolate and delegate is None:
        from ..runtime.probe import probe_model

        probe_model(path, backend=backend, threads=threads)
    started = time.perf_counter_ns()
    model = load(path, backend=backend, threads=threads, delegate=delegate, device=device)
    return model, (time.perf_counter_ns() - started) / 1e6


def time_model(model: Model, x: np.ndarray, config: TimingConfig, on_tick=None) -> dict:
    """First invoke, warm-up and timed runs on one batch `x`; raw samples are kept.

    Ctrl-C during the timed runs stops early and returns what was measured, flagged
    `interrupted` (with no sample at all, KeyboardInterrupt propagates)."""
    clock = time.perf_counter_ns
    predict = model.predict
    start = clock()
    predict(x)
    first_ms = (clock() - start) / 1e6

    warm_runs, warm_start = 0, clock()
    while warm_runs < config.warmup or (clock() - warm_start) < config.warmup_time * 1e9:
        predict(x)
        warm_runs += 1

    samples = np.empty(config.max_runs, dtype=np.int64)
    count, interrupted = 0, False
    deadline = clock() + int(config.min_time * 1e9)
    try:
        while count < config.max_runs and (count < config.runs or clock() < deadline):
            t0 = clock()
            predict(x)
            samples[count] = clock() - t0
            count += 1
            if on_tick is not None and count % 64 == 0:
                on_tick(count)
    except KeyboardInterrupt:
        if count == 0:
            raise
        interrupted = True
    samples = samples[:count]
    return {
        "first_invoke_ms": first_ms,
        "warmup_runs": warm_runs,
        "latency": latency_stats(samples),
        "samples_ns": samples.tolist(),
        "interrupted": interrupted,
    }
