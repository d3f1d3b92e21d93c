"""Several models under several runtime settings, with early stopping: the measuring half of
`edgekit optimize`.

    sweep = Sweep(runs=(Run(0, 4), Run(1, 4), Run(0, 1), Run(0, 1, xnnpack=False), ...), first_pass=2,
                  quality=(0.97, 0.95), percentile=90)
    result = run_sweep(["a.tflite", "b.tflite"], sweep, timing=TimingConfig(...))

The first `first_pass` runs are always measured: every model at least once (edgekit optimize
plans each at the most and at the fewest threads, XNNPACK on, so that neither a many-core
speed-up nor an oversubscribed machine decides alone). Then a model that another model beats
or equals on every axis (quality from the host, size, its best first-pass latency at the
percentile, and memory when it counts), being clearly faster (`margin`), is *dominated*: its
remaining runs are skipped. Runs stop
when `time_limit_s` would be passed. The result is one BenchResult whose models are the runs
measured, in the order of `runs` (skipped runs are absent: `assign_runs` maps them back).

Runs on the device as well as on the host (numpy and edgekit.runtime only), so that a device
measures every setting from one upload and decides what to skip itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..artifact import BenchConfig, BenchResult, LatencyStats, ModelResult
from ..artifact.manifest import now
from ..errors import BadInputError, UsageError
from ..runtime.timing import TimingConfig
from .run import edgekit_version, run_benchmark
from .validity import machine_facts


@dataclass(frozen=True)
class Run:
    """One model (an index into the paths) under one runtime setting."""

    model: int
    threads: int
    xnnpack: bool = True
    delegate: str | None = None  # "edgetpu": the model runs on a Coral Edge TPU (threads: its CPU part)

    def describe(self) -> str:
        where = "Edge TPU" if self.delegate == "edgetpu" else f"XNNPACK {'on' if self.xnnpack else 'off'}"
        return f"{self.threads} thread{'s' if self.threads != 1 else ''}, {where}"


@dataclass(frozen=True)
class Sweep:
    """What to measure and when to stop (see the module's docstring). `quality` is higher-is-
    better per model (accuracy or top-1 agreement, measured on the host); `isolate_first`
    measures each model's memory in a process of its own on the first pass; `memory` says
    whether memory counts in dominance (when a memory budget exists)."""

    runs: tuple[Run, ...]
    first_pass: int
    quality: tuple[float | None, ...] = ()
    percentile: float = 90.0
    prune: bool = True
    time_limit_s: float | None = None
    isolate_first: bool = True
    memory: bool = True  # compare memory (to the whole MiB: it is noisy below that) in dominance
    sizes: tuple[int, ...] = ()  # per model, the size that counts (default: the file's)
    margin: float = 0.10  # a dominating model must be this much faster: timing noise must not prune

    def __post_init__(self):
        object.__setattr__(self, "runs", tuple(self.runs))
        object.__setattr__(self, "quality", tuple(self.quality))
        object.__setattr__(self, "sizes", tuple(self.sizes))
        if not self.runs or not 1 <= self.first_pass <= len(self.runs):
            raise UsageError(f"a sweep needs runs and a first pass of 1 to {len(self.runs)} runs; received {self.first_pass}")
        firsts = {r.model for r in self.runs[: self.first_pass]}
        if firsts != {r.model for r in self.runs} or firsts != set(range(len(firsts))):
            raise UsageError("the first pass of a sweep measures every model (numbered from 0) at least once")
        for name in ("quality", "sizes"):
            if getattr(self, name) and len(getattr(self, name)) != len(firsts):
                raise UsageError(f"a sweep's {name} has {len(getattr(self, name))} values for {len(firsts)} models")
        if not 0 < self.percentile < 100:
            raise UsageError(f"the sweep's latency percentile must be between 0 and 100; received {self.percentile}")
        if self.time_limit_s is not None and self.time_limit_s < 0:
            raise UsageError(f"the sweep's time limit must not be negative; received {self.time_limit_s}")

    @property
    def models(self) -> int:
        return len({r.model for r in self.runs})


# ---------------------------------------------------------------------------------------
# Numbers and dominance (shared with the host's selection)


def latency_at(model: ModelResult, percentile: float) -> float:
    """The latency (ms) at `percentile` of one model's timed runs (from the raw samples)."""
    samples = model.timing.samples_ns
    if samples:
        return float(np.percentile(np.asarray(samples, dtype=np.float64), percentile)) / 1e6
    return _from_stats(model.latency, percentile)


def _from_stats(stats: LatencyStats, percentile: float) -> float:
    known = {25.0: stats.p25_ms, 50.0: stats.p50_ms, 75.0: stats.p75_ms, 90.0: stats.p90_ms, 99.0: stats.p99_ms}
    if float(percentile) in known:
        return known[float(percentile)]
    above = [q for q in sorted(known) if q >= percentile]
    return known[above[0]] if above else stats.max_ms  # no samples: the next percentile up (conservative)


def memory_of(model: ModelResult) -> float | None:
    """Memory attributable to the model (MiB): measured alone when known, else its load's growth."""
    return model.memory_mib if model.memory_mib is not None else model.load_rss_mib


def dominates(a: tuple, b: tuple, margins: tuple = ()) -> bool:
    """Whether point `a` dominates point `b` (lower is better on every axis): `a` is no worse
    on any axis and better on one. An axis that only one of them knows (None) rules it out;
    an axis neither knows is left out. `margins` (per axis, a fraction) make "no worse"
    stricter there: a x (1 + margin) <= b."""
    better = False
    for i, (x, y) in enumerate(zip(a, b)):
        if x is None and y is None:
            continue
        margin = margins[i] if i < len(margins) else 0.0
        if x is None or y is None or x * (1 + margin) > y:
            return False
        better = better or x < y
    return better


def find_dominated(points: list[tuple], margins: tuple = ()) -> dict[int, int]:
    """{index of a dominated point: index of the first point that dominates it}."""
    found = {}
    for i, point in enumerate(points):
        by = next((j for j, other in enumerate(points) if j != i and dominates(other, point, margins)), None)
        if by is not None:
            found[i] = by
    return found


def pruning_margins(sweep: "Sweep") -> tuple:
    """The margins of a sweep's dominance: on latency only (the third axis of `point`)."""
    return (0.0, 0.0, sweep.margin, 0.0)


def point(quality: float | None, size_bytes: int, latency_ms: float, memory_mib: float | None) -> tuple:
    """A candidate as a lower-is-better point: (-quality, size, latency, memory to the whole
    MiB). Leave memory None when it does not count."""
    return (None if quality is None else -quality, size_bytes, latency_ms,
            None if memory_mib is None else round(memory_mib))


def model_point(sweep: Sweep, model: int, results: list[ModelResult]) -> tuple:
    """A model's point from its first-pass results (its best latency; the memory of its first,
    isolated, run) and what the host said of it."""
    return point(sweep.quality[model] if sweep.quality else None,
                 sweep.sizes[model] if sweep.sizes else results[0].size_bytes,
                 min(latency_at(r, sweep.percentile) for r in results),
                 memory_of(results[0]) if sweep.memory else None)


def first_pass(sweep: Sweep, measured: dict[int, ModelResult]) -> dict[int, list[ModelResult]]:
    """{model: its first-pass results, in order} from {run index: result}."""
    found: dict[int, list[ModelResult]] = {}
    for index in sorted(i for i in measured if i < sweep.first_pass):
        found.setdefault(sweep.runs[index].model, []).append(measured[index])
    return found


def dominated_models(sweep: Sweep, first: dict[int, list[ModelResult]]) -> dict[int, int]:
    """{model: the model dominating it} after the first pass (with the sweep's latency margin)."""
    models = sorted(first)
    points = [model_point(sweep, m, first[m]) for m in models]
    return {models[a]: models[b] for a, b in find_dominated(points, pruning_margins(sweep)).items()}


# ---------------------------------------------------------------------------------------
# The sweep


def run_sweep(paths, sweep: Sweep, *, data=None, timing: TimingConfig = TimingConfig(), backend: str = "auto",
              on_step: Callable[[str], None] | None = None,
              on_tick: Callable[[str, int], None] | None = None) -> BenchResult:
    """Measure `sweep.runs` of the models at `paths` (see the module's docstring); `data` (a
    Dataset) gives the timing input (its first batch) instead of zeros."""
    step = on_step or (lambda message: None)
    paths = [Path(p) for p in paths]
    if len(paths) != sweep.models:
        raise UsageError(f"the sweep plans {sweep.models} models and {len(paths)} paths were given")
    started, durations, results, skipped, notes = time.monotonic(), [], [], {}, []
    measured: dict[int, ModelResult] = {}
    first_run = {r.model: j for j, r in reversed(list(enumerate(sweep.runs)))}  # each model's first run
    for i, run in enumerate(sweep.runs):
        if i == sweep.first_pass and sweep.prune:
            skipped = _dominated(paths, sweep, first_pass(sweep, measured), step)
        if run.model in skipped:
            continue
        if _out_of_time(sweep, started, durations):
            step(f"time limit reached: {len(sweep.runs) - i} candidate(s) left untried")
            break
        step(f"candidate {i + 1} of {len(sweep.runs)}: {paths[run.model].stem}, {run.describe()}")
        t0 = time.monotonic()
        isolate = sweep.isolate_first and not notes and i == first_run[run.model]
        result = _measure(paths[run.model], run, data, timing, backend, isolate, on_tick, notes)
        durations.append(time.monotonic() - t0)
        results.append(result)
        if result.models:
            measured[i] = result.models[0]
        if result.interrupted:
            break
    merged = merge_results(results, timing, backend)
    return replace(merged, warnings=merged.warnings + tuple(notes))


def _measure(path: Path, run: Run, data, timing: TimingConfig, backend: str, isolate: bool, on_tick,
             notes: list) -> BenchResult:
    """One run; when no child process can be started for the isolated memory measurement (an
    emulated device without binfmt support), the run measures in this process instead."""
    kwargs = dict(data=data, timing=timing, threads=run.threads, backend=backend, xnnpack=run.xnnpack,
                  delegate=run.delegate, on_tick=on_tick)
    if isolate and run.delegate is None:
        try:
            return run_benchmark([path], isolate=True, **kwargs)
        except OSError as exc:
            notes.append(f"memory was measured in the benchmark's own process (load growth): no child process "
                         f"could be started for it here ({type(exc).__name__}: {exc.strerror or exc})")
    return run_benchmark([path], **kwargs)


def _dominated(paths, sweep: Sweep, first: dict[int, list[ModelResult]], step) -> dict[int, int]:
    found = dominated_models(sweep, first)
    for model, by in found.items():
        left = sum(1 for r in sweep.runs[sweep.first_pass:] if r.model == model)
        if left:
            step(f"skipping {left} candidate(s) of {paths[model].stem}: dominated by {paths[by].stem} "
                 f"(no better on accuracy, size or memory, and over {sweep.margin:.0%} slower)")
    return found


def _out_of_time(sweep: Sweep, started: float, durations: list[float]) -> bool:
    """Whether the next run would end past the time limit (runs take as long as the mean so far)."""
    if sweep.time_limit_s is None:
        return False
    expected = sum(durations) / len(durations) if durations else 0.0
    return time.monotonic() - started + expected > sweep.time_limit_s


def merge_results(results: list[BenchResult], timing: TimingConfig, backend: str) -> BenchResult:
    """One BenchResult holding every run's model, in order (the first run's machine facts)."""
    if not results:
        return BenchResult(created=now(), edgekit_version=edgekit_version(), system=machine_facts(),
                           config=BenchConfig(timing.settings(), None, backend, 0.99), models=())
    first = results[0]
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings))
    return replace(first, config=replace(first.config, threads=None), reference=None,
                   models=tuple(m for r in results for m in r.models), warnings=warnings,
                   interrupted=any(r.interrupted for r in results))


def assign_runs(sweep: Sweep, models: tuple[ModelResult, ...], model_of) -> dict[int, ModelResult]:
    """{index into sweep.runs: its ModelResult} for a sweep's result. `model_of(result)` gives
    a result's model index (from its path). Skipped runs are absent; runs are matched in
    order, which skipping preserves."""
    found: dict[int, ModelResult] = {}
    position = 0
    for result in models:
        index = model_of(result)
        while position < len(sweep.runs) and not (sweep.runs[position].model == index
                                                   and sweep.runs[position].threads == result.threads):
            position += 1
        if position == len(sweep.runs):
            raise BadInputError(f"{result.name} ({result.threads} threads) matches no planned run of the sweep")
        found[position] = result
        position += 1
    return found
