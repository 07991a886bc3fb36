"""Arms (layouts) and their expansion from multivariate factors."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from policy.checks import check_text
from policy.features import ARM_ID_FEATURE, FeatureValue, check_features

MAX_ARMS = 1000
MAX_ARM_ID_CHARS = 256
ARM_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""Any printable text: an arm id travels in JSON bodies and, percent-encoded, in the path of
``PATCH …/arms/{arm}`` (slashes included); ``.`` and ``..`` alone are refused, since HTTP
clients resolve them as path segments."""


def check_arm_id(arm: object) -> None:
    """Raise ``ValueError`` unless ``arm`` is a valid arm id (see ``ARM_ID_PATTERN``)."""
    if not isinstance(arm, str):
        raise ValueError(f"an arm id must be a string, got {type(arm).__name__}")
    check_text("an arm id", arm, MAX_ARM_ID_CHARS)
    if not re.match(ARM_ID_PATTERN, arm) or arm in (".", ".."):
        raise ValueError(f"an arm id must be printable text other than '.' and '..', got {arm!r}")


@dataclass(frozen=True)
class Arm:
    """One layout: an id, the attributes the model sees as its features, and whether it may be
    shown (a disabled arm is never chosen; its place in the model is kept)."""

    id: str
    features: Mapping[str, FeatureValue] = field(default_factory=dict)
    enabled: bool = True

    def __post_init__(self) -> None:
        check_arm_id(self.id)
        check_features(self.features, f"arm `{self.id}`")
        if ARM_ID_FEATURE in self.features:
            raise ValueError(f"arm `{self.id}`: feature name `{ARM_ID_FEATURE}` is reserved")
        object.__setattr__(self, "features", MappingProxyType(dict(self.features)))


def arm_id(levels: Mapping[str, str]) -> str:
    """The id of the arm with these factor levels: ``hero=big,cta=green`` (declaration order)."""
    return ",".join(f"{name}={level}" for name, level in levels.items())


def expand_factors(
    factors: Mapping[str, Sequence[str]],
    exclude: Sequence[Mapping[str, str]] = (),
) -> list[Arm]:
    """All combinations of factor levels, minus excluded partial combinations.

    Parameters
    ----------
    factors
        Factor name -> its levels, e.g. ``{"hero": ["big", "small"], "cta": ["green", "blue"]}``.
        Arms are produced in declaration order (the last factor varies fastest).
    exclude
        Partial combinations to leave out, e.g. ``[{"hero": "small", "cta": "blue"}]`` removes
        every arm with a small hero and a blue call to action.

    Returns
    -------
    list[Arm]
        One arm per remaining combination; its features are its factor levels.

    Raises
    ------
    ValueError
        If a factor has no levels, a level repeats or contains ``=`` or ``,`` (which would make
        arm ids ambiguous), an exclusion names an unknown factor or level, nothing remains, or
        there are more than ``MAX_ARMS`` combinations.
    """
    if not factors:
        raise ValueError("`factors` must declare at least one factor")
    for name, levels in factors.items():
        _check_token("factor name", name)
        if not levels:
            raise ValueError(f"`factors.{name}` must list at least one level")
        if len(set(levels)) != len(levels):
            raise ValueError(f"`factors.{name}` lists a level twice")
        for level in levels:
            _check_token(f"level of `factors.{name}`", level)
    size = 1
    for levels in factors.values():
        size *= len(levels)
    if size > MAX_ARMS:
        raise ValueError(f"`factors` give {size} combinations; at most {MAX_ARMS} arms are allowed")
    for i, partial in enumerate(exclude):
        if not partial:
            raise ValueError(f"`exclude[{i}]` must name at least one factor")
        for name, level in partial.items():
            if name not in factors:
                raise ValueError(f"`exclude[{i}]` names unknown factor `{name}`")
            if level not in factors[name]:
                raise ValueError(f"`exclude[{i}]` names unknown level `{level}` of `{name}`")

    names = list(factors)
    arms = []
    for combination in itertools.product(*(factors[name] for name in names)):
        chosen = dict(zip(names, combination))
        if any(all(chosen[k] == v for k, v in partial.items()) for partial in exclude):
            continue
        arms.append(Arm(arm_id(chosen), chosen))
    if not arms:
        raise ValueError("`exclude` removes every combination; no arm is left")
    return arms


def _check_token(what: str, token: str) -> None:
    if not token or "=" in token or "," in token:
        raise ValueError(f"{what} must be non-empty and contain neither '=' nor ',', got {token!r}")
