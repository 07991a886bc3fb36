"""Online comparison of the bandit's traffic with the holdout (control) group."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from replay.estimate import mean_estimate, z_value


def online_comparison(rewards: Mapping[str, Sequence[float]], level: float = 0.95) -> dict[str, Any] | None:
    r"""Mean reward of the ``bandit`` and ``holdout`` groups and their difference.

    The difference's interval is Welch's normal one,
    :math:`\bar r_b - \bar r_h \pm z \sqrt{s_b^2/n_b + s_h^2/n_h}`. Both groups were randomised
    per visitor, so this is the bandit's measured uplift over the fixed layout. None unless both
    groups have at least two events.
    """
    bandit = np.asarray(rewards.get("bandit", ()), dtype=float)
    holdout = np.asarray(rewards.get("holdout", ()), dtype=float)
    if bandit.size < 2 or holdout.size < 2:
        return None
    diff = float(bandit.mean() - holdout.mean())
    half = z_value(level) * math.sqrt(bandit.var(ddof=1) / bandit.size + holdout.var(ddof=1) / holdout.size)
    groups = {}
    for name, values in (("bandit", bandit), ("holdout", holdout)):
        e = mean_estimate(values, level)
        groups[name] = {"n": int(values.size), **e.as_dict()}
    return {**groups, "difference": {"value": diff, "low": diff - half, "high": diff + half}}
