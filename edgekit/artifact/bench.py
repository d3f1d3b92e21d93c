"""The benchmark result (schema `edgekit.bench/2`) and a fleet of them (`edgekit.fleet/2`).

Made by `edgekit.bench.run_benchmark` on the host or on a device, sent back over SSH as
JSON, read back with `BenchResult.from_json` (validated: a device's answer is input), and
read by the CLI, the reports and `devices/` by attribute. Fractions stay fractions
(accuracy 0.97, cv 0.05); units are in the names (`_ms`, `_s`, `_bytes`, `_mib`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .codec import SchemaError, dumps, from_json, to_json
from .records import Comparison, DataSummary, TensorSpec

BENCH_SCHEMA = "edgekit.bench/2"
FLEET_SCHEMA = "edgekit.fleet/2"


@dataclass(frozen=True)
class SystemFacts:
    """The machine a benchmark ran on, and what makes its numbers valid."""

    machine: str
    system: str
    release: str
    python: str
    os: str | None = None
    cpu_model: str | None = None
    cpu_count: int | None = None
    board: str | None = None
    governors: tuple[str, ...] = ()
    throttled: str | None = None
    executable: str | None = None


@dataclass(frozen=True)
class TimingSettings:
    """At least `runs` calls and `min_time_s` seconds, after a warm-up of at least `warmup`
    calls and `warmup_time_s` seconds; never more than `max_runs` calls."""

    runs: int
    min_time_s: float
    warmup: int
    warmup_time_s: float
    max_runs: int


@dataclass(frozen=True)
class BenchConfig:
    timing: TimingSettings
    threads: int | None
    backend: str
    min_relative_accuracy: float


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency of one model batch, in milliseconds (cv is a fraction).

    cv (std/mean) is dominated by a single scheduler outlier; the robust spread is
    iqr_ms (p75 - p25) relative to p50 (`robust_spread`), and `outliers` counts the calls
    slower than p75 + 3 x IQR."""

    runs: int
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    std_ms: float
    cv: float
    throughput_per_s: float
    p25_ms: float = 0.0
    p75_ms: float = 0.0
    outliers: int = 0

    @property
    def iqr_ms(self) -> float:
        return self.p75_ms - self.p25_ms

    @property
    def robust_spread(self) -> float:
        """IQR / p50: the typical run-to-run variation, blind to a few outliers."""
        return self.iqr_ms / self.p50_ms if self.p50_ms > 0 else 0.0


@dataclass(frozen=True)
class Timing:
    """What `edgekit.runtime.timing.time_model` measured: first call, warm-up, timed runs."""

    first_invoke_ms: float
    warmup_runs: int
    latency: LatencyStats
    samples_ns: tuple[int, ...] = field(default=(), repr=False)
    interrupted: bool = False
    # what ended the timed runs: "runs" (the count was reached after min_time), "min_time"
    # (time ran out after the count), "max_runs" (the cap cut min_time short), "interrupted"
    ended_by: str = "runs"


@dataclass(frozen=True)
class Verdict:
    """PASS/FAIL against the reference accuracy; REF for the model that is the reference;
    None when there is nothing to judge (no labels or no reference)."""

    word: Literal["PASS", "FAIL", "REF"] | None
    reason: str


@dataclass(frozen=True)
class VsFirst:
    """This model against the first one benchmarked (the table's baseline)."""

    size_ratio: float
    speedup: float | None
    accuracy_delta: float | None


@dataclass(frozen=True)
class ModelResult:
    name: str
    path: str
    size_bytes: int
    backend: str
    threads: int | None
    recipe: str | None
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    load_ms: float
    load_rss_mib: float | None
    process_peak_rss_mib: float | None
    timing: Timing
    comparison: Comparison | None = None  # accuracy (labels) and fidelity (reference)
    verdict: Verdict = Verdict(None, "no verdict: needs labelled data and a reference")
    vs_first: VsFirst | None = None
    warnings: tuple[str, ...] = ()
    # memory attributable to the model: the peak resident memory of a process that loaded,
    # allocated and invoked only this model, minus that process's memory before loading
    memory_mib: float | None = None
    xnnpack: bool | None = None  # whether the XNNPACK delegate ran the model (None: unknown)
    delegate: str | None = None  # "edgetpu" when the Edge TPU delegate ran it
    kernel_note: str | None = None  # why this model runs slowly, when edgekit knows (reference kernels)

    @property
    def latency(self) -> LatencyStats:
        return self.timing.latency

    @property
    def accuracy(self) -> float | None:
        return None if self.comparison is None else self.comparison.accuracy

    @property
    def top1_agreement(self) -> float | None:
        return None if self.comparison is None else self.comparison.top1_agreement


@dataclass(frozen=True)
class ReferenceInfo:
    """Where the reference outputs came from: a float model (keras, tflite), a saved .npz,
    or the first benchmarked model; its accuracy on the labelled data."""

    kind: Literal["keras", "tflite", "npz", "first-model"]
    path: str
    source: str | None = None
    accuracy: float | None = None
    saved_to: str | None = None
    computed_on: str | None = None


@dataclass(frozen=True)
class DeviceInfo:
    """The device a remote benchmark ran on (`bench --device`)."""

    name: str
    address: str
    profile: str | None
    workdir: str
    runtime: dict[str, Any]
    upload_s: float
    total_s: float


@dataclass(frozen=True, kw_only=True)
class BenchResult:
    schema: str = BENCH_SCHEMA
    created: str
    edgekit_version: str | None
    system: SystemFacts
    config: BenchConfig
    data: DataSummary | None = None
    reference: ReferenceInfo | None = None
    models: tuple[ModelResult, ...]
    warnings: tuple[str, ...] = ()
    interrupted: bool = False
    device: DeviceInfo | None = None

    @classmethod
    def from_json(cls, data: Any, what: str = "the benchmark result") -> "BenchResult":
        if not isinstance(data, dict) or data.get("schema") != BENCH_SCHEMA:
            schema = data.get("schema") if isinstance(data, dict) else None
            raise SchemaError(f"{what} has schema {schema!r}; this edgekit reads {BENCH_SCHEMA}")
        return from_json(cls, data, what)

    def to_json(self) -> dict:
        return to_json(self)

    def dumps(self, indent: int | None = 1) -> str:
        return dumps(self, indent)

    def failed(self) -> tuple[ModelResult, ...]:
        return tuple(m for m in self.models if m.verdict.word == "FAIL")


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    exit_code: int
    message: str


@dataclass(frozen=True)
class FleetEntry:
    name: str
    address: str
    result: BenchResult | None = None
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, kw_only=True)
class FleetResult:
    schema: str = FLEET_SCHEMA
    created: str
    devices: tuple[FleetEntry, ...]
    interrupted: bool = False

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.devices if not d.ok)

    def to_json(self) -> dict:
        data = to_json(self)
        for entry, device in zip(data["devices"], self.devices):
            entry["ok"] = device.ok
        return data | {"failed": list(self.failed)}

    def dumps(self, indent: int | None = 1) -> str:
        return dumps(self.to_json(), indent)

    @classmethod
    def from_json(cls, data: Any, what: str = "the fleet result") -> "FleetResult":
        if not isinstance(data, dict) or data.get("schema") != FLEET_SCHEMA:
            raise SchemaError(f"{what} is not an {FLEET_SCHEMA} document")
        return from_json(cls, data, what)
