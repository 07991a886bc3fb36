"""Checks of single values, shared by every domain constructor: each raises ``ValueError``
naming the value (``"`training.min_events` must be an integer in [1, 1000000000], got 0"``)."""

from __future__ import annotations

import math


def check_int(name: str, value: object, low: int, high: int) -> None:
    """``value`` is an integer (not a boolean) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"`{name}` must be an integer in [{low:,}, {high:,}], got {_shown(value)}")


def check_range(name: str, value: object, low: float, high: float) -> None:
    """``value`` is a finite number (not a boolean) in ``[low, high]``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) if isinstance(value, float) else True)
        or not low <= value <= high
    ):
        raise ValueError(f"`{name}` must be in [{low:g}, {high:g}], got {_shown(value)}")


def check_text(what: str, text: str, max_chars: int, min_chars: int = 1) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``text`` has ``min_chars`` to ``max_chars``
    characters of valid Unicode (no lone surrogate, which neither UTF-8, BSON nor VW carries)."""
    if not min_chars <= len(text) <= max_chars:
        raise ValueError(f"{what} must have {min_chars}-{max_chars} characters, got {len(text)}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text (a lone surrogate at position {exc.start})") from None


def _shown(value: object) -> str:
    """``repr(value)``, cut short: a hostile value may be a number of a thousand digits."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:21]}…"
