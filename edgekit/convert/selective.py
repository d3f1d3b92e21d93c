"""Accuracy-bounded int8: keep the most harmful layers in float until a bound holds.

    bound = AccuracyBound(max_drop=0.5)            # accuracy points, on labelled --eval data
    outcome = search(calibrated, recipe, ranking, nodes, evaluate, bound, reference_accuracy)

The ranking comes from `layers.layer_errors` (worst first). Each step keeps one more layer in
float (with the ops that read its output: see `layers.float_unit`), quantizes the calibrated
model again (cheap: no new calibration) and evaluates it through `edgekit.runtime`, until the
bound holds or `max_float_layers` would be exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..artifact import Verification, to_json
from ..errors import UsageError
from ..quantize.recipes import Recipe
from ..report.format import fmt_pct
from ..runtime import Model, describe
from ..runtime.timing import quick_latency
from . import layers as layers_mod
from .tflite import quantize_calibrated

MAX_FLOAT_LAYERS = 8


@dataclass(frozen=True)
class AccuracyBound:
    """max_drop: most accuracy points (1.0 = one percentage point) int8 may lose against the
    float model; min_agreement: least share (0..1] of samples whose top-1 class must match the
    float model's. Either or both."""

    max_drop: float | None = None
    min_agreement: float | None = None

    def __post_init__(self):
        if self.max_drop is None and self.min_agreement is None:
            raise UsageError("an accuracy bound needs `max_drop` or `min_agreement`")
        if self.max_drop is not None and not (0 <= self.max_drop < 100):
            raise UsageError(
                f"`max_drop` is in accuracy points, from 0 to 100 (0.5 = half a point); "
                f"received {self.max_drop!r}"
            )
        if self.min_agreement is not None and not (0 < self.min_agreement <= 1):
            raise UsageError(
                f"`min_agreement` is a share of samples between 0 and 1 (e.g. 0.99); received "
                f"{self.min_agreement!r}"
            )

    @property
    def needs_labels(self) -> bool:
        return self.max_drop is not None

    def holds(self, v: Verification, reference_accuracy: float | None) -> bool:
        """True when an artifact's verification meets every part of the bound."""
        if self.max_drop is not None:
            if v.accuracy is None or reference_accuracy is None:
                return False
            if (reference_accuracy - v.accuracy) * 100 > self.max_drop + 1e-9:
                return False
        if self.min_agreement is not None:
            if v.top1_agreement is None or v.top1_agreement < self.min_agreement - 1e-12:
                return False
        return True

    def describe(self) -> str:
        parts = []
        if self.max_drop is not None:
            parts.append(f"accuracy drop <= {self.max_drop:g} points")
        if self.min_agreement is not None:
            parts.append(f"top-1 agreement >= {self.min_agreement:g}")
        return " and ".join(parts)

    def to_dict(self) -> dict:
        return {"max_drop_points": self.max_drop, "min_agreement": self.min_agreement}


@dataclass(frozen=True)
class Attempt:
    float_layers: tuple
    float_tensors: tuple
    metrics: Verification
    holds: bool
    content: bytes = field(repr=False)

    def summary(self) -> dict:
        m = self.metrics
        return {"float_layers": list(self.float_layers), "accuracy": m.accuracy,
                "top1_agreement": m.top1_agreement, "bound_holds": self.holds,
                "size_bytes": len(self.content)}


@dataclass(frozen=True)
class SearchOutcome:
    attempts: tuple

    @property
    def met(self) -> Attempt | None:
        return next((a for a in self.attempts if a.holds), None)

    @property
    def best(self) -> Attempt:
        """The attempt that met the bound, else the one closest to it (accuracy, agreement)."""
        if self.met is not None:
            return self.met

        def score(a):
            m = a.metrics
            return (m.accuracy or 0.0, m.top1_agreement or 0.0, -len(a.float_layers))

        return max(self.attempts, key=score)


def search(
    calibrated: bytes,
    recipe: Recipe,
    ranking: list,
    nodes: list,
    evaluate: Callable[[bytes], Verification],
    bound: AccuracyBound,
    reference_accuracy: float | None,
    max_float_layers: int = MAX_FLOAT_LAYERS,
    on_step: Callable[[str], None] | None = None,
    quantize: Callable[[bytes, tuple], bytes] | None = None,
) -> SearchOutcome:
    """Keep layers in float one at a time, most harmful first, until `bound` holds.

    quantize(calibrated, float_tensors) makes the int8 model with the ops writing those
    tensors kept in float (default: the TFLite converter's quantizer)."""
    step = on_step or (lambda message: None)
    quantize = quantize or (lambda model, tensors: quantize_calibrated(model, recipe, tensors))
    by_output = {node.output: node for node in nodes}
    float_nodes: list = []
    attempts = []
    for entry in ranking:
        node = by_output.get(entry.tensor)
        if node is None or node in float_nodes:
            continue
        added = [n for n in layers_mod.float_unit(nodes, node) if n not in float_nodes]
        candidate = float_nodes + added
        float_layers = tuple(layers_mod.unit_layers(candidate))
        if len(float_layers) > max_float_layers:
            break
        float_nodes = candidate
        tensors = tuple(n.output for n in float_nodes)
        content = quantize(calibrated, tensors)
        metrics = evaluate(content)
        holds = bound.holds(metrics, reference_accuracy)
        attempts.append(Attempt(float_layers, tensors, metrics, holds, content))
        step(f"selective int8: float {', '.join(float_layers)} ({len(tensors)} ops): accuracy "
             f"{fmt_pct(metrics.accuracy)}, agreement {fmt_pct(metrics.top1_agreement)}"
             f"{' (bound holds)' if holds else ''}")
        if holds:
            break
    return SearchOutcome(tuple(attempts))


# ---------------------------------------------------------------------------------------
# The convert pipeline's entry point

DEBUG_SAMPLES = 100
LATENCY_RUNS = 200


@dataclass(frozen=True)
class Bounded:
    """The int8 model to write (plain or selective), whether the bound holds, the record."""

    content: bytes
    holds: bool
    record: dict


def enforce(
    plain: bytes,
    plain_metrics: Verification,
    *,
    bound: AccuracyBound,
    recipe: Recipe,
    calibrate: Callable[[], bytes],
    layer_names: list,
    samples,
    evaluate: Callable[[bytes], Verification],
    max_float_layers: int = MAX_FLOAT_LAYERS,
    on_step: Callable[[str], None] | None = None,
    quantize: Callable[[bytes, tuple], bytes] | None = None,
    graph: Callable[[bytes], list] | None = None,
) -> Bounded:
    """Plain int8 if it meets `bound`; else the first selective mix that does (or the best).

    calibrate() gives the float model the ranking runs (with the converter: calibrated, ranges
    recorded); quantize(that model, float_tensors) the int8 model with those ops kept in float
    (default: the TFLite converter's quantizer; LiteRT Quantizer passes its own); graph(that
    model) its ops with their layers (default: `layers.op_graph` with Keras `layer_names`)."""
    step = on_step or (lambda message: None)
    reference_accuracy = plain_metrics.reference_accuracy
    record = {"bound": bound.to_dict(), "plain_int8": _metrics_summary(plain_metrics)}
    if bound.holds(plain_metrics, reference_accuracy):
        return Bounded(plain, True, {**record, "bound_holds": True, "float_layers": [],
                                     "note": "plain int8 meets the bound: no layer kept in float"})
    step(f"int8 misses the bound ({bound.describe()}): ranking layers by quantization error")
    calibrated = calibrate()
    quantize = quantize or (lambda model, tensors: quantize_calibrated(model, recipe, tensors))
    nodes = graph(calibrated) if graph is not None else layers_mod.op_graph(calibrated, layer_names)
    quantized = quantize(calibrated, ())
    ranking = layers_mod.layer_errors(calibrated, quantized, nodes, samples[:DEBUG_SAMPLES])
    outcome = search(calibrated, recipe, ranking, nodes, evaluate, bound, reference_accuracy,
                     max_float_layers, step, quantize)
    record["ranking"] = [e.to_dict() for e in ranking[:10]]
    record["attempts"] = [a.summary() for a in outcome.attempts]
    if not outcome.attempts:
        return Bounded(plain, False, {**record, "bound_holds": False, "float_layers": [],
                                      "note": "no layer could be kept in float"})
    chosen = outcome.best
    step("measuring the cost of the float layers against plain int8")
    record.update({
        "bound_holds": chosen.holds,
        "float_layers": list(chosen.float_layers),
        "float_tensors": list(chosen.float_tensors),
        "float_ops": list(describe(chosen.content).float_ops),
        "cost_vs_plain_int8": measure_cost(plain, chosen.content, samples),
    })
    return Bounded(chosen.content, chosen.holds, record)


def _metrics_summary(v: Verification) -> dict:
    return {"accuracy": v.accuracy, "reference_accuracy": v.reference_accuracy, "top1_agreement": v.top1_agreement}


def measure_cost(plain: bytes, chosen: bytes, samples, runs: int = LATENCY_RUNS) -> dict:
    """Size and latency (one model batch, one thread, edgekit.runtime) of both models."""
    models = {name: Model.from_bytes(content, threads=1) for name, content in
              (("plain_int8", plain), ("selective", chosen))}
    x = samples[:models["plain_int8"].inputs[0].shape[0]]
    stats = {name: quick_latency(model, x, runs=runs, warmup=max(10, runs // 10)) for name, model in models.items()}
    p50 = {name: s.p50_ms for name, s in stats.items()}
    return {
        "size_bytes": len(chosen),
        "plain_int8_size_bytes": len(plain),
        "size_ratio": round(len(chosen) / len(plain), 4),
        "p50_ms": p50["selective"],
        "plain_int8_p50_ms": p50["plain_int8"],
        "latency_ratio": round(p50["selective"] / p50["plain_int8"], 4) if p50["plain_int8"] else None,
        "latency_runs": runs,
        "latency": to_json(stats),
    }
