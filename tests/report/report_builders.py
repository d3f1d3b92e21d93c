"""Typed benchmark results built in the tests, with synthetic latencies (fixed seeds): no
TensorFlow, no interpreter. Imported by the report tests (tests/report is on sys.path when
pytest collects them)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from edgekit.artifact import (
    BenchConfig, BenchResult, FleetEntry, FleetResult, LatencyStats, ModelResult, ReferenceInfo, SystemFacts,
    Timing, TimingSettings, Verdict, VsFirst,
)
from edgekit.artifact.bench import ErrorInfo
from edgekit.artifact.records import Comparison, DataSummary

ODD_NAME = "a<b>&c.tflite"


def latency_stats(samples_ns) -> LatencyStats:
    """What edgekit.runtime.timing records for these samples (numpy percentiles)."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if ms.size == 0:
        return LatencyStats(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    p25, p50, p75, p90, p99 = (float(v) for v in np.percentile(ms, (25, 50, 75, 90, 99)))
    mean, std = float(ms.mean()), float(ms.std(ddof=1)) if ms.size > 1 else 0.0
    outliers = int((ms > p75 + 3 * (p75 - p25)).sum())
    return LatencyStats(runs=int(ms.size), min_ms=float(ms.min()), mean_ms=mean, p50_ms=p50, p90_ms=p90, p99_ms=p99,
                        max_ms=float(ms.max()), std_ms=std, cv=std / mean if mean else 0.0,
                        throughput_per_s=1000 / mean if mean else 0.0, p25_ms=p25, p75_ms=p75, outliers=outliers)


def model(name: str, size_bytes: int, p50_ms: float, *, seed: int, accuracy: float | None = 0.97,
          verdict: str | None = "PASS", n: int = 3000, spread: float = 0.05, recipe: str | None = "int8",
          samples=None, snr_db: float | None = 35.2, interrupted: bool = False, **fields) -> ModelResult:
    """One model with lognormal latencies around `p50_ms` (or the given `samples` in ns)."""
    rng = np.random.default_rng(seed)
    if samples is None:
        samples = rng.lognormal(math.log(p50_ms * 1e6), spread, n)
    samples = tuple(int(s) for s in np.asarray(samples, dtype=np.int64))
    timing = Timing(first_invoke_ms=0.3, warmup_runs=40, latency=latency_stats(samples), samples_ns=samples,
                    interrupted=interrupted, ended_by="interrupted" if interrupted else "min_time")
    comparison = None if snr_db is None else Comparison(
        samples=450, max_abs_error=0.01, rmse=0.002, snr_db=snr_db, cosine=0.9999,
        top1_agreement=None if accuracy is None else 0.995, accuracy=accuracy,
        top5_accuracy=None if accuracy is None else 0.999)
    reason = {"PASS": "accuracy passes", "FAIL": "accuracy fails", "REF": "the reference"}.get(
        verdict, "no verdict: needs labelled data and a reference")
    base = dict(name=name, path=f"/models/{name}", size_bytes=size_bytes, backend="litert", threads=4,
                recipe=recipe, inputs=(), outputs=(), load_ms=2.1, load_rss_mib=1.2, process_peak_rss_mib=300.0,
                timing=timing, comparison=comparison, verdict=Verdict(verdict, reason), memory_mib=3.4,
                xnnpack=True)
    return ModelResult(**{**base, **fields})


def with_vs_first(models: list[ModelResult]) -> tuple[ModelResult, ...]:
    """Each model against the first, as edgekit.bench computes it."""
    first = models[0]
    out = []
    for m in models:
        speedup = (first.latency.p50_ms / m.latency.p50_ms
                   if m.latency.p50_ms > 0 and first.latency.p50_ms > 0 else None)
        delta = None if m.accuracy is None or first.accuracy is None else m.accuracy - first.accuracy
        out.append(dataclasses.replace(m, vs_first=VsFirst(m.size_bytes / first.size_bytes, speedup, delta)))
    return tuple(out)


SYSTEM = SystemFacts(machine="aarch64", system="Linux", release="6.6.31+rpt-rpi-2712", python="3.11.2",
                     os="Debian GNU/Linux 12 (bookworm)", cpu_model="Cortex-A76", cpu_count=4,
                     board="Raspberry Pi 5 Model B Rev 1.0", governors=("ondemand",), throttled="0x0",
                     executable="/usr/bin/python3")


def result(models: list[ModelResult], *, warnings=(), interrupted=False, reference_accuracy: float | None = 0.97,
           min_relative: float = 0.99, **fields) -> BenchResult:
    models = with_vs_first(models) if models else ()
    labelled = any(m.accuracy is not None for m in models)
    config = BenchConfig(TimingSettings(100, 1.0, 10, 0.5, 100_000), None, "auto", min_relative)
    data = DataSummary("eval.npz", "npz", 450, (450, 8, 8, 1), True) if labelled else None
    reference = None if not models else ReferenceInfo(
        "first-model", models[0].path, accuracy=reference_accuracy if labelled else None)
    base = dict(created="2026-11-22T03:30:00+00:00", edgekit_version="0.1.0", system=SYSTEM, config=config,
                data=data, reference=reference, models=models, warnings=tuple(warnings), interrupted=interrupted)
    return BenchResult(**{**base, **fields})


def three_models() -> BenchResult:
    return result([
        model("m_float32.tflite", 156_000, 1.20, seed=1, accuracy=0.9711, verdict="REF", recipe="float32",
              snr_db=float("inf")),
        model(ODD_NAME, 44_000, 0.55, seed=2, accuracy=0.9689, verdict="PASS"),
        model("m_int16x8.tflite", 80_000, 0.90, seed=3, accuracy=0.9400, verdict="FAIL", spread=0.2,
              recipe="int16x8"),
    ], reference_accuracy=0.9711,
        warnings=["CPU frequency governor is ondemand, not 'performance': latencies include ramp-up"])


def five_models(scale: float = 1.0) -> BenchResult:
    """The demo's shape: float32 reference, dynamic/float16/int8 passing, int16x8 on reference
    kernels (10x slower), int8's p99 far out (a scheduler outlier). `scale` multiplies every
    latency (a slower device)."""
    note = "int16 activations run TFLite's reference kernels (no XNNPACK): expect it many times slower"
    slow = np.random.default_rng(9).lognormal(math.log(4.1e6 * scale), 0.05, 3000)
    outlier = np.random.default_rng(10).lognormal(math.log(0.25e6 * scale), 0.05, 3000)
    outlier[::40] = 5e6 * scale  # 2.5% of calls at 5 ms: p99 20x the median
    return result([
        model("digits_cnn_float32.tflite", 412_000, 0.41 * scale, seed=5, accuracy=0.9711, verdict="REF",
              recipe="float32", snr_db=float("inf")),
        model("digits_cnn_dynamic.tflite", 111_000, 0.52 * scale, seed=6, accuracy=0.9700, recipe="dynamic"),
        model("digits_cnn_float16.tflite", 208_000, 0.42 * scale, seed=7, accuracy=0.9711, recipe="float16"),
        model("digits_cnn_int8.tflite", 113_000, 0.25 * scale, seed=8, accuracy=0.9689, recipe="int8",
              samples=outlier),
        model("digits_cnn_int16x8.tflite", 119_000, 4.1 * scale, seed=9, accuracy=0.9556, verdict="FAIL",
              recipe="int16x8", samples=slow, kernel_note=note, xnnpack=False),
    ], reference_accuracy=0.9711, warnings=["CPU frequency governor is ondemand, not 'performance'"])


def fleet(*results: tuple[str, BenchResult | None]) -> FleetResult:
    entries = []
    for i, (name, res) in enumerate(results):
        error = None if res is not None else ErrorInfo("DeviceError", 4, f"ssh: connect to host {name} refused")
        entries.append(FleetEntry(name, f"pi@10.0.0.{i + 2}", res, error))
    return FleetResult(created="2026-11-22T03:30:00+00:00", devices=tuple(entries))
