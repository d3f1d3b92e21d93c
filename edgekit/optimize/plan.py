"""From artifacts to candidates: which are timed and under which runtime settings (the sweep),
and the measured numbers put back on each candidate.

A candidate that misses the accuracy or size budget is known to miss it before any timing, so
it is never timed. The others are timed first at the most threads with XNNPACK (every model
once: the first pass), then under every other setting unless another model dominates them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..bench.sweep import Run, Sweep, dominated_models, first_pass, latency_at, memory_of
from ..errors import DeviceError
from .budgets import Budgets
from .build import Built
from .result import Candidate, DeviceNumbers
from .select import judge, quality

# XNNPACK never runs int16 activations (FACTS: reference kernels), so "off" would time the
# same thing twice.
NO_XNNPACK_VARIANT = ("int16x8",)


@dataclass(frozen=True)
class Plan:
    candidates: tuple[Candidate, ...]  # every candidate, in table order
    timed: tuple[Built, ...]  # the artifacts measured, in sweep model order
    run_ids: tuple[str, ...]  # candidate id of each sweep run
    sweep: Sweep | None


def base_candidate(b: Built) -> Candidate:
    return Candidate(id=b.key, artifact=b.key, label=b.label, recipe=b.recipe, io=b.io, float_layers=b.float_layers,
                     size_bytes=b.size_bytes, accuracy=b.accuracy, reference_accuracy=b.reference_accuracy,
                     top1_agreement=b.top1_agreement, has_file=b.path is not None)


def settings(threads: tuple[int, ...], switchable: bool, built: Built) -> list[tuple[int, bool, str | None]]:
    """(threads, xnnpack, delegate) to time an artifact with, the first-pass setting first. On
    the Edge TPU the threads run the ops left on the CPU; XNNPACK is not switched there."""
    if built.delegate is not None:
        return [(t, True, built.delegate) for t in threads]
    found = [(t, x, None) for t in threads for x in ((True, False) if switchable else (True,))]
    return [s for s in found if s[1] or built.recipe not in NO_XNNPACK_VARIANT]


def make_plan(built: tuple[Built, ...], budgets: Budgets, threads: tuple[int, ...], switchable: bool,
              percentile: float, time_limit_s: float | None) -> Plan:
    """Candidates for every artifact; the sweep over those worth timing."""
    never, timed = [], []
    for b in built:
        judged = judge(base_candidate(b), budgets)  # untimed: only accuracy and size can miss yet
        (never if judged.status == "rejected" or b.path is None else timed).append((b, judged))
    runs, run_ids, rows = [], [], {}
    per_model = [settings(threads, switchable, b) for b, _ in timed]
    firsts = [first_settings(s) for s in per_model]
    runs += [Run(m, *s) for position in range(2) for m, f in enumerate(firsts) for s in f[position:position + 1]]
    later = [[s for s in all_ if s not in first] for all_, first in zip(per_model, firsts)]
    for position in range(max((len(s) for s in later), default=0)):
        runs += [Run(m, *s[position]) for m, s in enumerate(later) if position < len(s)]
    for run in runs:
        b, base = timed[run.model]
        candidate = replace(base, id=f"{b.key}@{run.threads}t{'' if run.xnnpack else '-noxnnpack'}",
                            threads=run.threads, xnnpack=run.xnnpack, delegate=run.delegate, status="untried")
        run_ids.append(candidate.id)
        rows.setdefault(b.key, []).append(candidate)
    candidates = [c for b, c in never] + [c for b, _ in timed for c in sorted(rows[b.key], key=_setting_order)]
    sweep = None
    if runs:
        sweep = Sweep(tuple(runs), first_pass=sum(len(f) for f in firsts),
                      quality=tuple(quality(c, budgets) for _, c in timed), percentile=percentile,
                      time_limit_s=time_limit_s, memory=budgets.max_memory_mib is not None,
                      sizes=tuple(b.size_bytes or 0 for b, _ in timed))
    return Plan(tuple(candidates), tuple(b for b, _ in timed), tuple(run_ids), sweep)


def first_settings(planned: list) -> list:
    """The first pass of one artifact: the most and the fewest threads, XNNPACK on."""
    most, fewest = planned[0], next(s for s in reversed(planned) if s[1])
    return [most] if fewest == most else [most, fewest]


def _setting_order(c: Candidate):
    return -(c.threads or 0), not c.xnnpack


def fill(plan: Plan, outcomes: list[tuple[str, object]]) -> tuple[Candidate, ...]:
    """The candidates with the numbers of every device's sweep result (the worst device's
    latency and memory); a run no device measured is skipped (dominated) or untried."""
    sweep, by_id = plan.sweep, {c.id: c for c in plan.candidates}
    if not outcomes:  # nothing was timed: the time budget went on the conversions
        return tuple(replace(c, reasons=("the time budget ran out before it was timed",)) if c.status == "untried"
                     else c for c in plan.candidates)
    per_run: dict[int, list[DeviceNumbers]] = {}
    why: dict[int, str] = {}
    for device, result in outcomes:
        measured, dominated = device_runs(plan, device, result)
        for index, numbers in measured.items():
            per_run.setdefault(index, []).append(numbers)
        for index, run in enumerate(sweep.runs):
            if index not in measured and run.model in dominated and index not in why:
                by = plan.timed[dominated[run.model]].label
                why[index] = f"dominated by {by} on {device}: not measured further" if len(outcomes) > 1 \
                    else f"dominated by {by} (over {sweep.margin:.0%} faster, no worse elsewhere): not measured further"
    for index, run_id in enumerate(plan.run_ids):
        numbers = per_run.get(index, [])
        if len(numbers) == len(outcomes):
            memory = [n.memory_mib for n in numbers]
            by_id[run_id] = replace(by_id[run_id], timed=True, status="rejected",
                                    latency_ms=max(n.latency_ms for n in numbers),
                                    p50_ms=max(n.p50_ms for n in numbers),
                                    memory_mib=None if None in memory else max(memory),
                                    per_device=tuple(numbers) if len(outcomes) > 1 else ())
        elif index in why:
            by_id[run_id] = replace(by_id[run_id], status="skipped", reasons=(why[index],))
        else:
            by_id[run_id] = replace(by_id[run_id], status="untried", reasons=("the time budget ran out",))
    return tuple(by_id[c.id] for c in plan.candidates)


def device_runs(plan: Plan, device: str, result) -> tuple[dict[int, DeviceNumbers], dict[int, int]]:
    """({run index: numbers} measured on one device, {model: the model dominating it})."""
    from ..bench.sweep import assign_runs

    sweep = plan.sweep
    paths = {Path(b.path).resolve(): i for i, b in enumerate(plan.timed)}

    def model_of(m):
        index = paths.get(Path(m.path).resolve())
        if index is None:
            raise DeviceError(f"{device}: the result names {m.path}, which was not measured; "
                              f"run: edgekit device setup {device}")
        return index

    runs = assign_runs(sweep, result.models, model_of)
    first = first_pass(sweep, runs)
    measured = {}
    for index, m in runs.items():
        run = sweep.runs[index]
        if not run.xnnpack and m.xnnpack:
            raise DeviceError(f"{device}: XNNPACK ran although it was switched off: the device's edgekit is older "
                              f"than this one; run: edgekit device setup {device}")
        memory = memory_of(m) if m.memory_mib is not None else memory_of(first[run.model][0])
        measured[index] = DeviceNumbers(device, latency_at(m, sweep.percentile), m.latency.p50_ms, memory)
    return measured, dominated_models(sweep, first)
