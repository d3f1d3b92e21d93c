"""Budgets and the objective of `edgekit optimize`, parsed from text with units and checked
before any work.

    budgets = make_budgets(max_drop=1, max_latency="20ms", max_size="5MB", objective="latency")
    budgets.describe()   # ['accuracy drop <= 1 pt', 'p90 latency <= 20 ms', 'size <= 5 MB (5,000,000 bytes)']

Units: latency ns, us (µs), ms, s; sizes and memory B, kB/KB, KiB, MB, MiB, GB, GiB (kB = 1000
bytes, KiB = 1024); durations s, min, h. A latency, size, memory or duration without a unit is
a usage error: "20" could be milliseconds or seconds, "5" bytes or megabytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..convert.selective import AccuracyBound
from ..errors import UsageError

OBJECTIVES = ("latency", "size", "accuracy")
DEFAULT_PERCENTILE = 90.0
LATENCY_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}  # -> milliseconds
SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}
DURATION_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}  # -> seconds
_QUANTITY = re.compile(r"^\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:e([+-]?[0-9]+))?\s*([A-Za-zµ]*)\s*$")


def _quantity(text, name: str, units: dict, examples: str) -> tuple[float, str]:
    """(number, unit as written) from '20ms', '1.5 s', '512KiB'; a UsageError naming `name`."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise UsageError(f"`{name}` needs a number with a unit, such as {examples}; received {text!r}")
    match = _QUANTITY.match(text)
    if match is None:
        raise UsageError(f"`{name}` takes a number with a unit, such as {examples}; received {text!r}")
    number = float(match.group(1)) * 10 ** int(match.group(2) or 0)
    unit = match.group(3)
    if not unit:
        raise UsageError(f"`{name}` {text} has no unit; write it with one, such as {examples}")
    if unit.lower() not in units and unit not in units:
        raise UsageError(f"`{name}` {text}: unknown unit {unit!r}; use one of {', '.join(dict.fromkeys(units))} "
                         f"(e.g. {examples})")
    if not (math.isfinite(number) and number > 0):
        raise UsageError(f"`{name}` must be more than 0; received {text!r}")
    return number, unit


def parse_latency(text, name: str = "max_latency") -> float:
    """'20ms' -> 20.0 (milliseconds)."""
    number, unit = _quantity(text, name, LATENCY_UNITS, "20ms, 1.5s or 800us")
    return number * LATENCY_UNITS.get(unit, LATENCY_UNITS.get(unit.lower(), 1.0))


def parse_size(text, name: str = "max_size") -> int:
    """'5MB' -> 5000000, '512KiB' -> 524288 (bytes)."""
    number, unit = _quantity(text, name, SIZE_UNITS, "5MB, 512KiB or 300kB")
    return int(round(number * SIZE_UNITS[unit.lower()]))


def parse_duration(text, name: str = "time_budget") -> float:
    """'10min' -> 600.0, '90s' -> 90.0 (seconds)."""
    number, unit = _quantity(text, name, DURATION_UNITS, "90s, 10min or 1h")
    return number * DURATION_UNITS[unit.lower()]


def parse_percentile(value) -> float:
    """'p90', '90', 90 -> 90.0; between 50 and 99.9 (the tail a latency budget is about)."""
    text = str(value).strip().lower().removeprefix("p")
    try:
        q = float(text)
    except ValueError:
        q = math.nan
    if isinstance(value, bool) or not 50 <= q <= 99.9:
        raise UsageError(f"`latency_percentile` is a percentile from 50 to 99.9, such as p90 or 99; received {value!r}")
    return q


def fmt_size(size_bytes: float) -> str:
    """Bytes in the unit people wrote: 5 MB, 512 KiB, 300 kB, 900 B."""
    for unit, factor in (("GiB", 1024**3), ("GB", 1000**3), ("MiB", 1024**2), ("MB", 1000**2), ("KiB", 1024), ("kB", 1000)):
        if size_bytes >= factor and (size_bytes / factor) == round(size_bytes / factor, 2):
            return f"{size_bytes / factor:g} {unit}"
    if size_bytes >= 1000**2:
        return f"{size_bytes / 1000**2:.2f} MB"
    return f"{size_bytes / 1000:.1f} kB" if size_bytes >= 1000 else f"{int(size_bytes)} B"


def fmt_latency(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    return f"{ms:g} ms" if ms >= 1 else f"{ms * 1000:g} us"


@dataclass(frozen=True)
class Budgets:
    """What every candidate must meet, and what picks among those that do.

    max_drop: accuracy points the artifact may lose against the float model (labelled eval
    data); min_agreement: least share of eval samples with the float model's top-1 class;
    max_latency_ms at `latency_percentile`; max_size_bytes (the model's flatbuffer);
    max_memory_mib (peak memory attributable to the model). objective: latency (lowest
    latency at the percentile), size (smallest) or accuracy (highest)."""

    max_drop: float | None = None
    min_agreement: float | None = None
    max_latency_ms: float | None = None
    max_size_bytes: int | None = None
    max_memory_mib: float | None = None
    latency_percentile: float = DEFAULT_PERCENTILE
    objective: str = "latency"

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise UsageError(f"`objective` is one of {', '.join(OBJECTIVES)}; received {self.objective!r}")
        self.bound  # noqa: B018 - validates max_drop/min_agreement

    @property
    def bound(self) -> AccuracyBound | None:
        if self.max_drop is None and self.min_agreement is None:
            return None
        return AccuracyBound(self.max_drop, self.min_agreement)

    @property
    def percentile_name(self) -> str:
        return f"p{self.latency_percentile:g}"

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_drop, self.min_agreement, self.max_latency_ms,
                                           self.max_size_bytes, self.max_memory_mib))

    def describe(self) -> list[str]:
        """Each budget in words, with the units people read."""
        parts = []
        if self.max_drop is not None:
            parts.append(f"accuracy drop <= {self.max_drop:g} pt")
        if self.min_agreement is not None:
            parts.append(f"top-1 agreement >= {self.min_agreement:g}")
        if self.max_latency_ms is not None:
            parts.append(f"{self.percentile_name} latency <= {fmt_latency(self.max_latency_ms)}")
        if self.max_size_bytes is not None:
            parts.append(f"size <= {fmt_size(self.max_size_bytes)} ({self.max_size_bytes:,} bytes)")
        if self.max_memory_mib is not None:
            parts.append(f"memory <= {self.max_memory_mib:g} MiB")
        return parts

    def describe_objective(self) -> str:
        return {"latency": f"lowest {self.percentile_name} latency", "size": "smallest size",
                "accuracy": "highest accuracy"}[self.objective]


def make_budgets(*, max_drop: float | None = None, min_agreement: float | None = None, max_latency=None,
                 max_size=None, max_memory=None, latency_percentile=None, objective: str = "latency") -> Budgets:
    """Budgets from user input: latency, size and memory as text with units ('20ms', '5MB',
    '64MiB'); a percentile that nothing uses is a usage error."""
    latency = None if max_latency is None else parse_latency(max_latency)
    if latency_percentile is not None and latency is None and objective != "latency":
        raise UsageError(f"`latency_percentile` applies to `max_latency` and the latency `objective`; the objective "
                         f"is {objective} and there is no latency budget: add `max_latency` or drop the percentile")
    memory = None if max_memory is None else parse_size(max_memory, "max_memory") / 1024**2
    return Budgets(
        max_drop=None if max_drop is None else float(max_drop),
        min_agreement=None if min_agreement is None else float(min_agreement),
        max_latency_ms=latency, max_size_bytes=None if max_size is None else parse_size(max_size),
        max_memory_mib=memory,
        latency_percentile=DEFAULT_PERCENTILE if latency_percentile is None else parse_percentile(latency_percentile),
        objective=objective,
    )
