"""Whether a benchmark's numbers can be trusted: the machine's facts as a typed record, and
the reasons to distrust the latencies (noisy runs, a power-saving governor, throttling)."""

from __future__ import annotations

from ..artifact import ModelResult, SystemFacts
from .system import system_facts


def machine_facts() -> SystemFacts:
    facts = system_facts()
    return SystemFacts(**{**facts, "governors": tuple(facts["governors"])})


HIGH_SPREAD = 0.10  # the robust spread (IQR / p50) above which the latencies are not to be trusted


def validity_warnings(facts: SystemFacts, models: tuple[ModelResult, ...], max_spread: float = HIGH_SPREAD) -> tuple[str, ...]:
    """Reasons to distrust the numbers, one line each: the models' own warnings (a manifest
    that was ignored), noisy latency (judged on the robust spread IQR/p50, which one scheduler
    outlier does not move; CV does), a run the cap cut short, a power-saving governor,
    throttling."""
    warnings = [w for model in models for w in model.warnings]
    noisy = [f"{m.name} ({100 * m.latency.robust_spread:.0f}%)" for m in models if m.latency.robust_spread > max_spread]
    if noisy:
        warnings.append(
            f"latency varies a lot for {', '.join(noisy)}: (p75-p25)/p50 above {100 * max_spread:.0f}%; close other "
            "programs, run longer (`min_time`), or pin the CPU frequency"
        )
    capped = [m.name for m in models if m.timing.ended_by == "max_runs"]
    if capped:
        warnings.append(f"{', '.join(capped)}: the run cap ended the timing before `min_time`; raise `runs` "
                        "to let it run the whole time")
    other = [g for g in facts.governors if g != "performance"]
    if other:
        warnings.append(
            f"CPU frequency governor is {', '.join(other)}, not 'performance': latencies include "
            "frequency ramp-up (set it with cpupower frequency-set -g performance)"
        )
    state = facts.throttled
    if state not in (None, "0x0", "0"):
        warnings.append(
            f"the board reports throttling (vcgencmd get_throttled = {state}): under-voltage or "
            "heat; use the official power supply and a heatsink/fan"
        )
    return tuple(warnings)
