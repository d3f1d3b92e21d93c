"""Latency of one model: first invoke, warm-up, timed runs with perf_counter_ns, raw samples.

The one timing loop of edgekit (bench, selective int8's cost, the demo). Standard library +
numpy, so it runs on the device as well as on the host.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import _signals
from ..artifact import LatencyStats, Timing, TimingSettings
from ..errors import UsageError

MAX_RUNS = 10_000_000  # 80 MB of samples: more is a typo, not a measurement
MAX_SECONDS = 24 * 3600.0
DEFAULT_MAX_RUNS = 100_000


@dataclass(frozen=True)
class TimingConfig:
    """How long to measure: at least `runs` calls and at least `min_time` seconds, after a
    warm-up of at least `warmup` calls and `warmup_time` seconds; never more than `max_runs`
    calls (default: max(runs, 100,000))."""

    runs: int = 100
    min_time: float = 1.0
    warmup: int = 10
    warmup_time: float = 0.5
    max_runs: int | None = None

    def __post_init__(self):
        for name in ("runs", "warmup"):
            _check_count(name, getattr(self, name), 1 if name == "runs" else 0)
        for name in ("min_time", "warmup_time"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
                raise UsageError(f"`{name}` is a number of seconds from 0 to {MAX_SECONDS:g}; received {value!r}")
        if self.max_runs is None:
            object.__setattr__(self, "max_runs", max(self.runs, DEFAULT_MAX_RUNS))
        _check_count("max_runs", self.max_runs, self.runs)

    def settings(self) -> TimingSettings:
        return TimingSettings(self.runs, float(self.min_time), self.warmup, float(self.warmup_time), self.max_runs)

    @classmethod
    def from_settings(cls, s: TimingSettings) -> "TimingConfig":
        return cls(s.runs, s.min_time_s, s.warmup, s.warmup_time_s, s.max_runs)


def _check_count(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_RUNS:
        raise UsageError(f"`{name}` must be a whole number from {minimum} to {MAX_RUNS:,}; received {value!r}")


OUTLIER_IQRS = 3.0  # a call slower than p75 + 3 x IQR is an outlier (a scheduler hiccup)


def latency_stats(samples_ns) -> LatencyStats:
    """min/mean/p25/p50/p75/p90/p99/max/std in milliseconds, the coefficient of variation,
    throughput (calls per second at the mean) and the count of outliers."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if ms.size == 0:
        raise ValueError("no latency samples")
    mean = float(ms.mean())
    std = float(ms.std(ddof=1)) if ms.size > 1 else 0.0
    p25, p50, p75, p90, p99 = (float(v) for v in np.percentile(ms, (25, 50, 75, 90, 99)))
    return LatencyStats(
        runs=int(ms.size), min_ms=float(ms.min()), mean_ms=mean, p50_ms=p50, p90_ms=p90, p99_ms=p99,
        max_ms=float(ms.max()), std_ms=std, cv=std / mean if mean > 0 else 0.0,
        throughput_per_s=1000.0 / mean if mean > 0 else 0.0, p25_ms=p25, p75_ms=p75,
        outliers=int(np.count_nonzero(ms > p75 + OUTLIER_IQRS * (p75 - p25))),
    )


def _warm_up(predict, x, config: TimingConfig, clock) -> int:
    runs, start = 0, clock()
    deadline = start + int(config.warmup_time * 1e9)
    while runs < config.warmup or clock() < deadline:
        predict(x)
        runs += 1
    return runs


def time_model(model, x, config: TimingConfig = TimingConfig(), on_tick=None) -> Timing:
    """First invoke, warm-up and timed runs of `model.predict(x)` on one batch; raw samples
    are kept. Ctrl-C during the timed runs stops early and returns what was measured,
    flagged `interrupted` (with no sample at all, KeyboardInterrupt propagates)."""
    clock, predict = time.perf_counter_ns, model.predict
    start = clock()
    predict(x)
    first_ms = (clock() - start) / 1e6
    warm_runs = _warm_up(predict, x, config, clock)
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
        _signals.handled()
        interrupted = True
    ended_by = _ended_by(count, config, clock() >= deadline, interrupted)
    samples = samples[:count]
    return Timing(first_invoke_ms=first_ms, warmup_runs=warm_runs, latency=latency_stats(samples),
                  samples_ns=tuple(samples.tolist()), interrupted=interrupted, ended_by=ended_by)


def _ended_by(count: int, config: TimingConfig, time_was_up: bool, interrupted: bool) -> str:
    """What ended the timed runs: the run count, the minimum time, the cap, or Ctrl-C."""
    if interrupted:
        return "interrupted"
    if count >= config.max_runs and not time_was_up:
        return "max_runs"  # the cap cut the asked-for minimum time short
    return "min_time" if count > config.runs else "runs"


def quick_latency(model, x, runs: int = 200, warmup: int = 20) -> LatencyStats:
    """p50 & co of `runs` calls after `warmup` calls, no minimum time (for side measurements
    such as selective int8's cost and the demo)."""
    return time_model(model, x, TimingConfig(runs=runs, min_time=0.0, warmup=warmup, warmup_time=0.0)).latency

