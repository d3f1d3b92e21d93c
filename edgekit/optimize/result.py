"""The typed result of `edgekit optimize` (schema `edgekit.optimize/1`): every candidate with
its numbers and fate, the Pareto front, the pick and why, and what was left untried."""

from __future__ import annotations

from dataclasses import dataclass

from ..artifact import EvaluationInfo, SystemFacts, to_json
from ..errors import BoundError
from .budgets import Budgets

SCHEMA = "edgekit.optimize/1"
# picked: the answer; meets: meets every budget, not the best on the objective; rejected:
# misses a budget (`missed` names which; `timed` False when it was rejected before timing);
# skipped: dominated by another candidate, not measured; untried: the time budget ran out.
STATUSES = ("picked", "meets", "rejected", "skipped", "untried")


@dataclass(frozen=True)
class DeviceNumbers:
    """One candidate's latency and memory on one device of a group."""

    device: str
    latency_ms: float
    p50_ms: float
    memory_mib: float | None = None


@dataclass(frozen=True)
class Candidate:
    """An artifact under a runtime setting, with what was measured and its fate.

    accuracy/top1_agreement come from the artifact's verification on the eval data (host);
    latency_ms (at the budgets' percentile), p50_ms and memory_mib from the target (the worst
    device of a group). size_bytes is the model's flatbuffer (without the manifest)."""

    id: str
    artifact: str
    label: str
    recipe: str
    io: str | None = None
    float_layers: tuple[str, ...] = ()
    threads: int | None = None
    xnnpack: bool | None = None
    delegate: str | None = None  # "edgetpu": timed with the Coral Edge TPU delegate
    size_bytes: int | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    top1_agreement: float | None = None
    latency_ms: float | None = None
    p50_ms: float | None = None
    memory_mib: float | None = None
    per_device: tuple[DeviceNumbers, ...] = ()
    status: str = "rejected"
    missed: tuple[str, ...] = ()  # budget names: max_drop, min_agreement, max_latency, max_size, max_memory
    reasons: tuple[str, ...] = ()  # why it was rejected, skipped or left untried, in words
    timed: bool = False
    on_front: bool = False
    has_file: bool = True  # False for plain int8 when a selective mix replaced it (numbers only)

    @property
    def drop_pt(self) -> float | None:
        """Accuracy points lost against the float model (negative: gained)."""
        if self.accuracy is None or self.reference_accuracy is None:
            return None
        return (self.reference_accuracy - self.accuracy) * 100

    def setting(self) -> str:
        if self.threads is None:
            return "-"
        where = "Edge TPU" if self.delegate == "edgetpu" else f"XNNPACK {'on' if self.xnnpack else 'off'}"
        return f"{self.threads} thread{'s' if self.threads != 1 else ''}, {where}"

    def describe(self) -> str:
        return self.label if self.threads is None else f"{self.label} ({self.setting()})"


@dataclass(frozen=True)
class Closest:
    """When nothing meets every budget: the candidate that comes closest to one budget,
    preferring candidates that meet all the others (`meets_the_others`)."""

    budget: str
    candidate: str
    value: str
    meets_the_others: bool
    how: str = ""  # the other budgets, in words

    def describe(self, label: str) -> str:
        return f"`{self.budget}`: closest {label} at {self.value} ({self.how})"


@dataclass(frozen=True)
class TargetInfo:
    """Where the candidates were measured and with which runtime settings."""

    kind: str  # "this machine", "device" or "group"
    name: str
    devices: tuple[str, ...]
    cores: int
    threads: tuple[int, ...]
    xnnpack_switchable: bool
    backend: str
    system: SystemFacts | None = None
    edgetpu: bool = False


@dataclass(frozen=True)
class Times:
    """Wall time of the whole run, of its conversions and of its measurements (seconds); the
    rest is the search's own overhead (planning, checks, selection, writing)."""

    total_s: float
    convert_s: float
    measure_s: float

    @property
    def overhead_s(self) -> float:
        return max(self.total_s - self.convert_s - self.measure_s, 0.0)


@dataclass(frozen=True, kw_only=True)
class OptimizeResult:
    schema: str = SCHEMA
    model: str
    target: TargetInfo
    budgets: Budgets
    evaluation: EvaluationInfo
    reference_accuracy: float | None
    candidates: tuple[Candidate, ...]
    front: tuple[str, ...]
    pick: str | None  # the best candidate that meets every budget (None: none does)
    reason: str
    closest: tuple[Closest, ...] = ()  # when none does: per budget, the closest candidate
    closest_overall: str | None = None  # when none does: what `best_effort` writes
    written: tuple[str, ...] = ()
    times: Times
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def candidate(self, candidate_id: str | None) -> Candidate | None:
        return next((c for c in self.candidates if c.id == candidate_id), None)

    @property
    def picked(self) -> Candidate | None:
        return self.candidate(self.pick)

    @property
    def written_candidate(self) -> Candidate | None:
        """The candidate whose artifact was written: the pick, or the closest (`best_effort`)."""
        if not self.written:
            return None
        return self.picked or self.candidate(self.closest_overall)

    @property
    def untried(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.status == "untried")

    @property
    def skipped(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.status == "skipped")

    def to_json(self) -> dict:
        data = to_json(self)
        data["times"]["overhead_s"] = round(self.times.overhead_s, 3)
        data["counts"] = {status: sum(1 for c in self.candidates if c.status == status) for status in STATUSES}
        return data

    def bound_error(self) -> BoundError | None:
        """The exit-5 error when no candidate meets every budget (with `best_effort`, the
        closest was written and this still says so), else None."""
        if self.pick is not None:
            return None
        closest = "; ".join(c.describe(self.candidate(c.candidate).describe()) for c in self.closest)
        written = self.written_candidate
        where = f"the closest, {written.describe()}, was written (`best_effort`)" if written else "nothing was written"
        untried = self.untried
        left = (f"; {len(untried)} candidate(s) were left untried when the `time_budget` ran out "
                f"({', '.join(c.describe() for c in untried[:4])}{', ...' if len(untried) > 4 else ''})") if untried else ""
        return BoundError(f"no candidate meets every budget ({'; '.join(self.budgets.describe()) or 'none given'}): "
                          f"{closest or self.reason}{left}; {where}")
