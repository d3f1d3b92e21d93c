"""Judging candidates against budgets, the Pareto front and the pick: pure functions on the
numbers, so a pick can be re-made (or tested) without measuring again.

    choice = choose(candidates, budgets)
    choice.pick, choice.reason, choice.front, choice.closest
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..bench.sweep import find_dominated, point
from ..report.format import fmt_ms, fmt_pct
from .budgets import Budgets, fmt_latency, fmt_size
from .result import Candidate, Closest

BUDGET_NAMES = ("max_drop", "min_agreement", "max_latency", "max_size", "max_memory")
JUDGED = ("picked", "meets", "rejected")


@dataclass(frozen=True)
class Choice:
    candidates: tuple[Candidate, ...]  # each with its status, missed budgets, reasons and front flag
    pick: str | None
    reason: str
    front: tuple[str, ...]
    closest: tuple[Closest, ...] = ()
    best_effort: str | None = None  # the closest candidate, when nothing meets every budget


def quality(c: Candidate, b: Budgets) -> float | None:
    """What "more accurate" means for this run: top-1 agreement when that is the only
    accuracy budget (or no labels exist), else accuracy."""
    if b.max_drop is None and b.min_agreement is not None:
        return c.top1_agreement
    return c.accuracy if c.accuracy is not None else c.top1_agreement


def given(b: Budgets) -> list[str]:
    limits = (b.max_drop, b.min_agreement, b.max_latency_ms, b.max_size_bytes, b.max_memory_mib)
    return [name for name, limit in zip(BUDGET_NAMES, limits) if limit is not None]


def value(c: Candidate, name: str, b: Budgets) -> tuple[float, str] | None:
    """(the candidate's number for budget `name`, lower is better; the number in words)."""
    if name == "max_drop" and c.drop_pt is not None:
        return c.drop_pt, f"accuracy drop {c.drop_pt:.2f} pt"
    if name == "min_agreement" and c.top1_agreement is not None:
        return -c.top1_agreement, f"agreement {fmt_pct(c.top1_agreement)}"
    if name == "max_latency" and c.latency_ms is not None:
        return c.latency_ms, f"{b.percentile_name} {fmt_ms(c.latency_ms)} ms"
    if name == "max_size" and c.size_bytes is not None:
        return float(c.size_bytes), f"size {fmt_size(c.size_bytes)}"
    if name == "max_memory" and c.memory_mib is not None:
        return c.memory_mib, f"memory {c.memory_mib:.1f} MiB"
    return None


def excess(c: Candidate, name: str, b: Budgets) -> float:
    """How far past its limit the candidate is on budget `name`, as a fraction (0: within;
    1 when unknown). Accuracy counts points over max(max_drop, 1 point)."""
    found = value(c, name, b)
    if found is None:
        return 1.0
    v = found[0]
    if name == "max_drop":
        return max(0.0, v - b.max_drop) / max(b.max_drop, 1.0)
    if name == "min_agreement":
        return max(0.0, b.min_agreement + v) / max(1.0 - b.min_agreement, 0.01)
    limit = {"max_latency": b.max_latency_ms, "max_size": b.max_size_bytes, "max_memory": b.max_memory_mib}[name]
    return max(0.0, v / limit - 1.0)


def limit_text(name: str, b: Budgets) -> str:
    if name == "max_drop":
        return f"{b.max_drop:g} pt"
    if name == "min_agreement":
        return fmt_pct(b.min_agreement)
    if name == "max_latency":
        return fmt_latency(b.max_latency_ms)
    if name == "max_size":
        return fmt_size(b.max_size_bytes)
    return f"{b.max_memory_mib:g} MiB"


def misses(c: Candidate, b: Budgets) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(budget names the candidate misses, each miss in words). A latency or memory the
    candidate was never timed for is not a miss; a timed one without memory is."""
    names, words = [], []
    for name in given(b):
        found = value(c, name, b)
        if found is None:
            if name in ("max_latency", "max_memory") and not c.timed:
                continue
            names.append(name)
            words.append(f"{name}: not measured" + (" (needs labelled eval data)" if name == "max_drop" else ""))
        elif excess(c, name, b) > 1e-9:
            sign = "<" if name == "min_agreement" else ">"
            names.append(name)
            words.append(f"{found[1]} {sign} {limit_text(name, b)}")
    return tuple(names), tuple(words)


def objective_key(c: Candidate, b: Budgets) -> tuple:
    q = quality(c, b)
    q = -q if q is not None else math.inf
    latency = c.latency_ms if c.latency_ms is not None else math.inf
    size = c.size_bytes if c.size_bytes is not None else math.inf
    threads = c.threads or 0
    if b.objective == "size":
        return size, latency, q, threads
    if b.objective == "accuracy":
        return q, latency, size, threads
    return latency, size, q, threads


def judge(c: Candidate, b: Budgets) -> Candidate:
    if c.status in ("skipped", "untried"):
        return c
    names, words = misses(c, b)
    if names:
        return replace(c, status="rejected", missed=names, reasons=words)
    if not c.timed:
        return replace(c, status="untried", reasons=c.reasons or ("not timed",))
    return replace(c, status="meets", missed=(), reasons=())


def front(candidates: list[Candidate], b: Budgets) -> set[str]:
    """Ids of the timed candidates no other timed candidate dominates (quality, size,
    latency at the percentile, and memory when a memory budget exists)."""
    timed = [c for c in candidates if c.timed and c.latency_ms is not None]
    memory = b.max_memory_mib is not None
    points = [point(quality(c, b), c.size_bytes or 0, c.latency_ms, c.memory_mib if memory else None) for c in timed]
    dominated = find_dominated(points)
    return {c.id for i, c in enumerate(timed) if i not in dominated}


def choose(candidates, b: Budgets) -> Choice:
    """Judge every candidate, find the front, and pick the best on the objective among those
    that meet every budget (or name the closest per budget when none does)."""
    judged = [judge(c, b) for c in candidates]
    on_front = front(judged, b)
    judged = [replace(c, on_front=c.id in on_front) for c in judged]
    meets = [c for c in judged if c.status == "meets"]
    order = [c.id for c in judged if c.id in on_front]
    if meets:
        best = min(meets, key=lambda c: objective_key(c, b))
        judged = [replace(c, status="picked") if c.id == best.id else c for c in judged]
        return Choice(tuple(judged), best.id, pick_reason(best, b, len(meets)), tuple(order))
    closest = closest_per_budget(judged, b)
    fallback = best_effort_pick(judged, b)
    reason = "no candidate meets every budget"
    if fallback is not None:
        reason += f"; the closest overall: {fallback.describe()} ({'; '.join(fallback.reasons)})"
    return Choice(tuple(judged), None, reason, tuple(order), closest, None if fallback is None else fallback.id)


def pick_reason(c: Candidate, b: Budgets, meeting: int) -> str:
    among = "the only candidate that meets every budget" if meeting == 1 else \
        f"of the {meeting} candidates that meet every budget"
    if b.objective == "size":
        best = f"the smallest ({fmt_size(c.size_bytes)})"
    elif b.objective == "accuracy":
        q = quality(c, b)
        word = "agreement" if q is not None and q == c.top1_agreement and c.accuracy is None else "accuracy"
        best = f"the highest {word} ({fmt_pct(q)})"
    else:
        best = f"the lowest {b.percentile_name} latency ({fmt_ms(c.latency_ms)} ms)"
    text = f"{c.describe()}: {among}" if meeting == 1 else f"{c.describe()}: {best} {among}"
    held = [f"{value(c, n, b)[1]}" for n in given(b) if value(c, n, b) is not None]
    return text + (f" ({', '.join(held)})" if held else "")


def closest_per_budget(judged: list[Candidate], b: Budgets) -> tuple[Closest, ...]:
    """Per budget that some candidate misses: the candidate closest to it, among those that
    meet every other budget when there are any."""
    found = []
    rated = [c for c in judged if c.status in JUDGED]
    for name in given(b):
        if not any(name in c.missed for c in rated):
            continue
        known = [c for c in rated if value(c, name, b) is not None]
        unmeasured = {"max_latency", "max_memory"} & set(given(b)) - {name}
        others = [c for c in known if not (set(c.missed) - {name}) and (c.timed or not unmeasured)]
        pool = others or known
        if not pool:
            continue
        best = min(pool, key=lambda c: (value(c, name, b)[0], objective_key(c, b)))
        if others:
            how = "meets every other budget"
        elif not (set(best.missed) - {name}):
            how = "not timed, so its latency and memory are unknown"
        else:
            how = "misses other budgets too"
        found.append(Closest(name, best.id, value(best, name, b)[1], bool(others), how))
    return tuple(found)


def best_effort_pick(judged: list[Candidate], b: Budgets) -> Candidate | None:
    """The candidate with a file that misses the fewest budgets, by the least total excess."""
    pool = [c for c in judged if c.status == "rejected" and c.has_file]
    timed = [c for c in pool if c.timed]
    pool = timed or pool
    if not pool:
        return None
    return min(pool, key=lambda c: (len(c.missed), sum(excess(c, n, b) for n in c.missed), objective_key(c, b)))
