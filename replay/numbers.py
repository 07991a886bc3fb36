"""How the pages people read write numbers and times: one format for each kind of number, and
axis ticks at round values.

- a **value** (a reward per visitor, an estimate, a bound) has three decimals: ``0.212``
  (negative ones with a true minus sign, ``−0.012``, as differences have);
- a **difference** of values has three decimals and a sign: ``+0.012``, ``−0.051``;
- a **count** (events, an effective sample size) is a whole number with thousands separators;
- a **weight** has one decimal; a **share** is a percentage with one decimal;
- a **time** is written ``1 December 2026, 20:28 UTC``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

MISSING = "–"


def value(x: float | None) -> str:
    return _signed(f"{x:.3f}") if x is not None and math.isfinite(x) else MISSING


def difference(x: float | None) -> str:
    return _signed(f"{x:+.3f}") if x is not None and math.isfinite(x) else MISSING


def _signed(text: str) -> str:
    """``text`` with a true minus sign, and none at all on a number that rounds to zero (never
    ``−0.000`` or ``+0.000``)."""
    if text.lstrip("+-").strip("0.") == "":
        return "0.000"
    return text.replace("-", "−")


def interval(low: float | None, high: float | None) -> str:
    return f"{value(low)} to {value(high)}"


def count(x: float | None) -> str:
    return f"{round(x):,}" if x is not None and math.isfinite(x) else MISSING


def weight(x: float | None) -> str:
    return f"{x:.1f}" if x is not None and math.isfinite(x) else MISSING


def share(x: float | None) -> str:
    return f"{x:.1%}" if x is not None and math.isfinite(x) else MISSING


def moment(t: datetime | str) -> str:
    """A time in words, in UTC: ``1 December 2026, 20:28 UTC`` (an ISO string is read first)."""
    when = datetime.fromisoformat(t) if isinstance(t, str) else t
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return f"{when.day} {when:%B %Y, %H:%M} UTC"


def ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) from at or below ``low`` to at or
    above ``high``: at most ``most`` + 1 of them, at least two."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        low, high = (low - 0.5, low + 0.5) if math.isfinite(low) else (0.0, 1.0)
    raw = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    while last - first > most:
        step *= 2
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def tick_label(x: float, step: float) -> str:
    """A tick at ``x`` of a scale whose ticks are ``step`` apart, with as many decimals as the
    step needs and no more."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{x:,.{decimals}f}".replace("-", "−")
