"""Which model to ship: the picks a benchmark result supports, and the sentence that says so.

`summarize(result)` -> `Summary`: the fastest, smallest and most accurate of the models that
pass the accuracy check (of all models when nothing was judged), the accuracy-latency Pareto
front, short display names, a one-line headline and the advice sentence. The terminal table
and the HTML report print the same words. Standard library only: the device install (no
matplotlib) uses it too.

    s = summarize(result)
    s.sentence   # "Ship int8: the fastest model that passes the accuracy check, 1.64x faster ..."
    s.headline   # "fastest passing: int8, 1.64x; smallest passing: dynamic, 0.27x; all PASS"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..artifact import to_json
from .format import fmt_ms, fmt_pct, fmt_ratio

__all__ = ["HIGH_SPREAD", "OVERHEAD_BOUND_MS", "Pick", "SUMMARY_SCHEMA", "Summary", "pareto_front",
           "short_names", "summarize"]

SUMMARY_SCHEMA = "edgekit.summary/1"
ACCEPTED = ("PASS", "REF")  # verdicts a model can ship with (REF: it is the reference)
HIGH_SPREAD = 0.10  # robust spread (IQR / p50) above which a ranking by p50 is not to be trusted
SAME_SPEED = 1.05  # speed-ups closer to 1 than this read "about as fast as"
OVERHEAD_BOUND_MS = 0.1  # below this p50 a call is dominated by per-call overhead, not arithmetic
_SEPARATORS = "_-. "


@dataclass(frozen=True)
class Pick:
    """One model picked for a reason. `value` is what it was picked on (p50 in ms, size in
    bytes, or accuracy as a fraction) and `vs_first` the same against the first model
    (speed-up, size ratio, or accuracy difference); `index` is its place in `result.models`."""

    index: int
    name: str
    label: str
    value: float
    vs_first: float | None


@dataclass(frozen=True)
class Summary:
    """What a benchmark says, first: `sentence` (which model to ship and why), `headline` (the
    best values in one line), the picks, the Pareto front of accuracy against p50 latency
    (model indices, fastest first) and `notes` (why a model is slower, what to distrust).
    `judged` is False when no model has a PASS/FAIL verdict (no labelled data or reference):
    the picks then rank speed and size only and `ship` is None."""

    sentence: str
    headline: str
    labels: tuple[str, ...]
    judged: bool
    ship: Pick | None = None
    fastest: Pick | None = None
    smallest: Pick | None = None
    most_accurate: Pick | None = None
    pareto: tuple[int, ...] = ()
    verdicts: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"schema": SUMMARY_SCHEMA, **to_json(self)}


def summarize(result) -> Summary:
    """The picks and sentences for a `BenchResult`."""
    models = result.models
    labels = short_names([m.name for m in models])
    judged = any(m.verdict.word in ("PASS", "FAIL") for m in models)
    candidates = [i for i, m in enumerate(models) if not judged or m.verdict.word in ACCEPTED]
    timed = [i for i in candidates if _timed(models[i])]
    fastest = _pick(models, labels, timed, lambda m: (m.latency.p50_ms, m.size_bytes), "speed")
    smallest = _pick(models, labels, candidates, lambda m: (m.size_bytes, _p50_or_inf(m)), "size")
    accurate = [i for i, m in enumerate(models) if m.accuracy is not None]
    most_accurate = _pick(models, labels, accurate, lambda m: (-m.accuracy, _p50_or_inf(m)), "accuracy")
    picks = _Picks(fastest if judged else None, fastest, smallest, most_accurate)
    return Summary(
        sentence=_sentence(result, labels, picks, judged),
        headline=_headline(models, picks, judged),
        labels=labels, judged=judged, ship=picks.ship, fastest=fastest, smallest=smallest,
        most_accurate=most_accurate, pareto=pareto_front(models),
        verdicts=_tally(models), notes=_notes(result, labels))


@dataclass(frozen=True)
class _Picks:
    ship: Pick | None
    fastest: Pick | None
    smallest: Pick | None
    most_accurate: Pick | None


def short_names(names: Sequence[str]) -> tuple[str, ...]:
    """Names without `.tflite` and without the prefix and suffix they all share, cut at a
    `_`, `-`, `.` or space: digits_cnn_int8.tflite, digits_cnn_float32.tflite -> int8, float32.
    A name stays whole where cutting would leave it empty or equal to another."""
    stems = [n[: -len(".tflite")] if n.lower().endswith(".tflite") and len(n) > 7 else n for n in names]
    if len(stems) < 2:
        return tuple(stems)
    prefix = _shared_start(stems)
    suffix = _shared_start([s[len(prefix):][::-1] for s in stems])[::-1]
    for cut in ((len(prefix), len(suffix)), (len(prefix), 0), (0, 0)):
        short = [s[cut[0]: len(s) - cut[1]] for s in stems]
        if all(short) and len(set(short)) == len(set(stems)):
            return tuple(short)
    return tuple(stems)


def _shared_start(texts: list[str]) -> str:
    """The longest start all `texts` share that ends just after a separator."""
    first = texts[0]
    length = 0
    while length < len(first) and all(len(t) > length and t[length] == first[length] for t in texts):
        length += 1
    while length and first[length - 1] not in _SEPARATORS:
        length -= 1
    return first[:length]


def pareto_front(models) -> tuple[int, ...]:
    """Indices of the models no other model beats on both accuracy and p50 latency (as good
    on both and better on one), fastest first. Models without an accuracy or a timed run
    take no part."""
    points = [(m.latency.p50_ms, -m.accuracy, i) for i, m in enumerate(models)
              if m.accuracy is not None and _timed(m)]
    front = []
    for p50, neg_acc, i in points:
        dominated = any(q50 <= p50 and q_acc <= neg_acc and (q50 < p50 or q_acc < neg_acc)
                        for q50, q_acc, _ in points)
        if not dominated:
            front.append((p50, neg_acc, i))
    return tuple(i for _, _, i in sorted(front))


def _timed(model) -> bool:
    return model.latency.runs > 0 and model.latency.p50_ms > 0


def _p50_or_inf(model) -> float:
    return model.latency.p50_ms if _timed(model) else float("inf")


def _pick(models, labels, indices: list[int], key, what: str) -> Pick | None:
    if not indices:
        return None
    i = min(indices, key=lambda j: (*key(models[j]), j))
    m = models[i]
    value, ratio = {
        "speed": (m.latency.p50_ms, _vs(m, "speedup")),
        "size": (float(m.size_bytes), _vs(m, "size_ratio")),
        "accuracy": (m.accuracy, _vs(m, "accuracy_delta")),
    }[what]
    if i == 0:
        ratio = 1.0 if what != "accuracy" else 0.0
    return Pick(i, m.name, labels[i], float(value), ratio)


def _tally(models) -> tuple[tuple[str, int], ...]:
    words = [m.verdict.word or "none" for m in models]
    return tuple((w, words.count(w)) for w in ("PASS", "FAIL", "REF", "none") if w in words)


# --- the words ----------------------------------------------------------------------------


def _speed(speedup: float | None, base: str) -> str:
    if speedup is None:
        return "speed not compared"
    if 1 / SAME_SPEED < speedup < SAME_SPEED:
        return f"about as fast as {base}"
    if speedup >= 1:
        return f"{speedup:.2f}x faster than {base}"
    return f"{1 / speedup:.1f}x slower than {base}"


def _size(ratio: float | None, base: str) -> str:
    return "size not compared" if ratio is None else f"{ratio:.2f}x the size of {base}"


def _sentence(result, labels, picks: _Picks, judged: bool) -> str:
    models = result.models
    if not models:
        return "No model was measured."
    if len(models) == 1:
        return _one_model(models[0], labels[0])
    if not judged:
        return _unjudged(labels, picks)
    fails = [labels[i] for i, m in enumerate(models) if m.verdict.word == "FAIL"]
    if picks.ship is None:
        return _none_pass(result, labels, picks)
    return _ship(models, labels, picks) + _failing(fails, _bound(result))


def _one_model(m, label: str) -> str:
    parts = [f"p50 {fmt_ms(m.latency.p50_ms)} ms" if _timed(m) else "no timed runs"]
    if m.accuracy is not None:
        parts.append(f"accuracy {fmt_pct(m.accuracy)}")
    if m.verdict.word is not None:
        parts.append(m.verdict.word)
    return f"One model measured: {label}, {', '.join(parts)}; add others to compare."


def _unjudged(labels, picks: _Picks) -> str:
    base = labels[0]
    parts = []
    if picks.fastest is not None:
        parts.append(f"{picks.fastest.label} is fastest ({_speed(picks.fastest.vs_first, base)})"
                     if picks.fastest.index else f"{base} is fastest")
    if picks.smallest is not None and picks.smallest.index:
        parts.append(f"{picks.smallest.label} is smallest ({_size(picks.smallest.vs_first, base)})")
    ranks = "; ".join(parts) or "no model has a timed run"
    return ("Accuracy was not checked (that needs labelled data and a reference), so this ranks "
            f"speed and size only: {ranks}.")


def _ship(models, labels, picks: _Picks) -> str:
    ship, small, base = picks.ship, picks.smallest, labels[0]
    if ship.index == 0:
        others = any(m.verdict.word in ACCEPTED for m in models[1:])
        text = (f"Keep {base}: no other model that passes the accuracy check is faster." if others
                else f"Keep {base}: no other model passes the accuracy check.")
    else:
        m = models[ship.index]
        accuracy = "" if m.accuracy is None else f", accuracy {fmt_pct(m.accuracy)}"
        text = (f"Ship {ship.label}: the fastest model that passes the accuracy check, "
                f"{_speed(ship.vs_first, base)} at {fmt_ratio(_vs(m, 'size_ratio'))} its size{accuracy}.")
    if small is not None and small.index != ship.index:
        speed = _speed(_vs(models[small.index], "speedup"), base) if small.index else "the baseline"
        text += (f" If size matters more, {small.label} is the smallest that passes "
                 f"({fmt_ratio(small.vs_first)} the size, {speed}).")
    return text


def _vs(model, what: str) -> float | None:
    return None if model.vs_first is None else getattr(model.vs_first, what)


def _bound(result) -> float | None:
    reference = None if result.reference is None else result.reference.accuracy
    return None if reference is None else reference * result.config.min_relative_accuracy


def _failing(fails: list[str], bound: float | None) -> str:
    if not fails:
        return ""
    below = "" if bound is None else f" (accuracy below {fmt_pct(bound)})"
    if len(fails) > 3:
        return f" {len(fails)} models fail the accuracy check{below}."
    return f" {_join(fails)} {'fails' if len(fails) == 1 else 'fail'} the accuracy check{below}."


def _none_pass(result, labels, picks: _Picks) -> str:
    bound = _bound(result)
    need = "" if bound is None else (
        f" (accuracy at least {fmt_pct(bound)}: {result.config.min_relative_accuracy:.0%} of the "
        f"reference's {fmt_pct(result.reference.accuracy)})")
    best = picks.most_accurate
    closest = "" if best is None else f"; the most accurate is {best.label} at {fmt_pct(best.value)}"
    return f"Ship none of these: no model passes the accuracy check{need}{closest}."


def _headline(models, picks: _Picks, judged: bool) -> str:
    if not models:
        return "no model measured"
    passing = " passing" if judged else ""
    parts = []
    if picks.fastest is not None:
        parts.append(f"fastest{passing}: {picks.fastest.label}, {fmt_ratio(picks.fastest.vs_first)}")
    if picks.smallest is not None:
        parts.append(f"smallest{passing}: {picks.smallest.label}, {fmt_ratio(picks.smallest.vs_first)}")
    if picks.most_accurate is not None:
        parts.append(f"most accurate: {picks.most_accurate.label}, {fmt_pct(picks.most_accurate.value)}")
    parts.append(_verdict_words(models, judged))
    return "; ".join(parts)


def _verdict_words(models, judged: bool) -> str:
    if not judged:
        return "accuracy not checked"
    words = [m.verdict.word for m in models if m.verdict.word in ("PASS", "FAIL")]
    if all(w == "PASS" for w in words):
        return "all PASS"
    counts = [f"{words.count(w)} {w}" for w in ("PASS", "FAIL") if w in words]
    return ", ".join(counts)


def _notes(result, labels) -> tuple[str, ...]:
    """Why a model is slower than the first one (models with the same reason in one note),
    and what makes the ranking doubtful."""
    models, notes = result.models, []
    if result.interrupted:
        notes.append("The run was interrupted: some models were measured with fewer runs or not at all.")
    if not models:
        return tuple(notes)
    reasons: dict[str, list[str]] = {}
    explained: set[int] = set()
    for i, m in enumerate(models[1:], start=1):
        speedup = _vs(m, "speedup")
        if speedup is None or speedup > 1 / SAME_SPEED:
            continue
        reason = m.kernel_note or _overhead(models[0])
        if reason:
            reasons.setdefault(reason, []).append(f"{labels[i]} ({_speed(speedup, labels[0])})")
            explained.add(i)
    for reason, slower in reasons.items():
        notes.append(f"{_join(slower)} {'is' if len(slower) == 1 else 'are'} slower: {reason}.")
    notes.extend(_kernel_notes(models, labels, explained))
    noisy = [labels[i] for i, m in enumerate(models) if _timed(m) and m.latency.robust_spread > HIGH_SPREAD]
    if noisy:
        notes.append(f"Latency varied by more than {HIGH_SPREAD:.0%} (IQR/p50) for {_join(noisy)}: "
                     "rerun on an idle machine before trusting small differences.")
    return tuple(notes)


def _kernel_notes(models, labels, explained: set[int]) -> list[str]:
    """Slow kernels are said even when this run did not measure the model slower (a tiny,
    overhead-bound model or a busy machine can hide them): they decide what a larger model
    or the device will show."""
    notes = [f"{labels[0]}: {models[0].kernel_note}."] if models[0].kernel_note else []
    by_reason: dict[str, list[str]] = {}
    for i, m in enumerate(models[1:], start=1):
        if m.kernel_note and i not in explained:
            by_reason.setdefault(m.kernel_note, []).append(labels[i])
    return notes + [f"{_join(names)}: {reason} (not measured slower than {labels[0]} in this run)."
                    for reason, names in by_reason.items()]


def _overhead(base) -> str | None:
    if not _timed(base) or base.latency.p50_ms >= OVERHEAD_BOUND_MS:
        return None
    return (f"at {fmt_ms(base.latency.p50_ms)} ms per call the model is likely overhead-bound (fixed per-call "
            "costs outweigh the arithmetic that quantization saves); a larger model shows the real difference")


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
