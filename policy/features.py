"""Encode contexts and arms as Vowpal Wabbit text lines for action-dependent-feature (ADF) models.

A decision is one VW multi-line example: a ``shared`` line carrying the visitor's context in
namespace ``U`` and one line per eligible arm carrying that arm's features in namespace ``A``
(plus an ``arm=<id>`` indicator, so the model can learn per-arm effects that the declared
features do not explain). Models interact the two namespaces (``-q UA``).

Feature names and values come from web pages and shops, so they may contain VW's syntax
characters: ``|`` starts a namespace, ``:`` separates a feature from its value and white space
separates features. Every name and string value is percent-encoded for exactly those
characters (and ``%`` itself), so no input can add, split or re-weight features.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from policy.checks import check_text

FeatureValue = str | int | float | bool

MAX_FEATURES = 100
MAX_NAME_CHARS = 128
MAX_VALUE_CHARS = 1024
MAX_ABS_NUMBER = 1e15
"""The largest magnitude of a numeric feature. VW learns in 32-bit floats and squares feature
values (and their products, in interactions) in its updates; up to 1e15 a square stays far
inside float32's range (3.4e38). Larger values (raw timestamps in ms, prices in micros) should be
scaled before they are sent."""

CONTEXT_NAMESPACE = "U"
ARM_NAMESPACE = "A"
ARM_ID_FEATURE = "arm"

# Every character Python considers white space lies below U+3001; VW splits on some of them and
# newlines end an example, so all are encoded.
_SPECIAL = {"%", "|", ":"} | {chr(c) for c in range(0x3001) if chr(c).isspace()}
_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in _SPECIAL})


def check_number(what: str, value: int | float) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``value`` is finite and within
    ±``MAX_ABS_NUMBER``."""
    inside = (
        abs(value) <= MAX_ABS_NUMBER
        if isinstance(value, int)
        else math.isfinite(value) and abs(value) <= MAX_ABS_NUMBER
    )
    if not inside:
        shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:21]}…"
        raise ValueError(f"{what} must be a finite number within ±{MAX_ABS_NUMBER:g}, got {shown}")


def check_features(features: Mapping[str, object], where: str = "features") -> None:
    """Check a flat mapping of feature names to values, as a context or an arm carries it.

    At most ``MAX_FEATURES`` names of 1-``MAX_NAME_CHARS`` characters; each value a string of at
    most ``MAX_VALUE_CHARS`` characters, a boolean, or a number (:func:`check_number`). Every
    string must be valid Unicode.

    Raises
    ------
    ValueError
        Naming ``where`` and the feature at fault.
    """
    if len(features) > MAX_FEATURES:
        raise ValueError(f"{where}: at most {MAX_FEATURES} features are allowed, got {len(features)}")
    for name, value in features.items():
        if not isinstance(name, str):
            raise ValueError(f"{where}: feature names must be strings, got {name!r}")
        check_text(f"{where}: feature name {name!r}", name, MAX_NAME_CHARS)
        if isinstance(value, str):
            check_text(f"{where}: `{name}`", value, MAX_VALUE_CHARS, min_chars=0)
        elif isinstance(value, (int, float)):  # bool is an int: always inside
            check_number(f"{where}: `{name}`", value)
        else:
            raise ValueError(f"{where}: `{name}` must be a string, number or boolean, got {json_type(value)}")


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type (``object``, ``array``, ``null``…)."""
    names = {dict: "object", list: "array", type(None): "null", str: "string", bool: "boolean"}
    return names.get(type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def escape(token: str) -> str:
    """Return ``token`` with VW's syntax characters percent-encoded (``a|b`` -> ``a%7Cb``)."""
    return token.translate(_ESCAPES)


def encode_feature(name: str, value: FeatureValue) -> str:
    """Encode one feature as a VW token.

    Strings and booleans are categorical (``device=mobile``, ``returning=true``) with weight 1;
    numbers are numeric (``age:35``).

    Raises
    ------
    ValueError
        If ``value`` is a non-finite number (VW would silently learn NaN weights).
    """
    key = _escaped_name(name)
    if isinstance(value, str):
        return f"{key}={escape(value)}"
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if not math.isfinite(value):
        raise ValueError(f"feature `{name}` must be a finite number, got {value!r}")
    return f"{key}:{value!r}"


@functools.lru_cache(maxsize=4096)
def _escaped_name(name: str) -> str:
    """:func:`escape` of a feature name, remembered: a context's few names recur in every event."""
    return escape(name)


def encode_features(features: Mapping[str, FeatureValue]) -> str:
    """Encode a feature mapping as space-separated VW tokens, in sorted name order."""
    return " ".join([encode_feature(name, features[name]) for name in sorted(features)])


def context_line(context: Mapping[str, FeatureValue]) -> str:
    """The ``shared`` line of an ADF example for a visitor's context."""
    return f"shared |{CONTEXT_NAMESPACE} {encode_features(context)}"


def arm_line(arm_id: str, features: Mapping[str, FeatureValue]) -> str:
    """The line of an ADF example for one arm, without a label."""
    tokens = encode_feature(ARM_ID_FEATURE, arm_id)
    if features:
        tokens = f"{tokens} {encode_features(features)}"
    return f"|{ARM_NAMESPACE} {tokens}"
