"""Latency measurement over `Model.predict`: warm-up, perf_counter_ns, raw samples, percentiles.

Pure stdlib + numpy so it runs on the device as well as on the host.
"""

from __future__ import annotations

import time

import numpy as np


def time_predict(model, x, runs: int = 100, warmup: int = 10) -> np.ndarray:
    """Raw per-call latencies in nanoseconds of `model.predict(x)`, after `warmup` calls."""
    if runs <= 0:
        raise ValueError(f"runs must be positive; received {runs}")
    for _ in range(max(0, warmup)):
        model.predict(x)
    samples = np.empty(runs, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(runs):
        start = clock()
        model.predict(x)
        samples[i] = clock() - start
    return samples


def latency_stats(samples_ns) -> dict:
    """min/mean/p50/p90/p99/max/std in milliseconds, coefficient of variation, throughput."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if ms.size == 0:
        raise ValueError("no latency samples")
    mean = float(ms.mean())
    std = float(ms.std(ddof=1)) if ms.size > 1 else 0.0
    return {
        "runs": int(ms.size),
        "min_ms": float(ms.min()),
        "mean_ms": mean,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "std_ms": std,
        "cv": std / mean if mean > 0 else 0.0,
        "throughput_per_s": 1000.0 / mean if mean > 0 else 0.0,
    }
