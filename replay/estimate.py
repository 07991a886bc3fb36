"""An estimate with its confidence interval, from per-event terms.

Every estimator in this package reduces to per-event terms ``t_i`` whose mean is the estimate
(for SNIPS, the linearised terms of the delta method); the interval is the normal one,

.. math:: \\bar t \\pm z_{(1+c)/2}\\, s_t / \\sqrt{n},

with :math:`s_t` the sample standard deviation. A paired comparison of two policies on the same
events is the same computation on the differences of their terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval at ``level``."""

    value: float
    low: float
    high: float
    n: int
    level: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def z_value(level: float) -> float:
    """The two-sided standard-normal quantile for confidence ``level`` (1.96 for 0.95)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must be in (0, 1), got {level!r}")
    return NormalDist().inv_cdf((1.0 + level) / 2.0)


def mean_estimate(terms: np.ndarray, level: float = 0.95, center: float | None = None) -> Estimate:
    """The mean of ``terms`` (or ``center``, when the terms are linearised around it) with its
    normal interval. With fewer than two terms the interval is unbounded."""
    n = int(terms.size)
    if n == 0:
        raise ValueError("`terms` is empty: there is nothing to estimate")
    value = float(terms.mean()) if center is None else center
    if n < 2:
        return Estimate(value, -math.inf, math.inf, n, level)
    half = z_value(level) * float(terms.std(ddof=1)) / math.sqrt(n)
    return Estimate(value, value - half, value + half, n, level)
