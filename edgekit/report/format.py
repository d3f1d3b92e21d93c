"""Number formatting shared by the terminal tables, Markdown, HTML and library messages.

Fractions are fractions everywhere else (0.9731); these turn them into what people read."""

from __future__ import annotations

import math

MISSING = "-"


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def fmt_pct(value, digits: int = 2, missing: str = MISSING) -> str:
    """A fraction as a percentage: 0.9731 -> '97.31%'."""
    number = _number(value)
    return missing if number is None else f"{100 * number:.{digits}f}%"


def fmt_points(value, digits: int = 2, missing: str = MISSING) -> str:
    """A difference of fractions in percentage points, signed: -0.0022 -> '-0.22'."""
    number = _number(value)
    return missing if number is None else f"{100 * number:+.{digits}f}"


def fmt_ms(value, missing: str = MISSING) -> str:
    """Milliseconds with enough digits for microsecond-scale models."""
    number = _number(value)
    if number is None:
        return missing
    return f"{number:.3f}" if number < 100 else f"{number:.1f}"


def fmt_kib(size_bytes, missing: str = MISSING) -> str:
    number = _number(size_bytes)
    return missing if number is None else f"{number / 1024:.1f}"


def fmt_ratio(value, missing: str = MISSING) -> str:
    """A ratio: 0.2874 -> '0.29x'."""
    number = _number(value)
    return missing if number is None else f"{number:.2f}x"


def fmt_db(value, missing: str = MISSING) -> str:
    """A signal-to-noise ratio in dB; identical outputs (+inf) read as 'inf'."""
    number = _number(value)
    if number is None:
        return missing
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return f"{number:.1f}"


def fmt_bytes(n, missing: str = MISSING) -> str:
    """Bytes as B, KiB or MiB with two decimals (as edgetpu_compiler prints them)."""
    number = _number(n)
    if number is None:
        return missing
    if number < 1024:
        return f"{int(number)} B"
    return f"{number / 1024:.2f} KiB" if number < 2**20 else f"{number / 2**20:.2f} MiB"
