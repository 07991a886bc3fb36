r"""Evidence that accumulates: a running mean of per-event terms with an anytime-valid
confidence sequence.

A confidence interval is valid at one fixed sample size; looking at it after every training
cycle and stopping at the first good-looking one inflates its error rate without bound. A
confidence sequence (CS) :math:`(C_t)_{t \ge 1}` is valid uniformly over time,

.. math:: P(\exists t \ge 1 : \mu_t \notin C_t) \le \alpha,

so it may be checked after every event or cycle, as often as one likes.

This module implements the asymptotic CS of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas
(2021, "Time-uniform central limit theory and asymptotic confidence sequences", Prop. 2.5), the
time-uniform analogue of the normal interval. For terms :math:`t_1, \dots, t_n` with sample
mean :math:`\hat\mu_n` and variance :math:`\hat\sigma^2_n`, the two-sided :math:`(1-\alpha)` CS
for the running average of their conditional means is

.. math:: \hat\mu_n \pm \sqrt{\frac{2 (n \hat\sigma^2_n \rho^2 + 1)}{n^2 \rho^2}
          \log\frac{\sqrt{n \hat\sigma^2_n \rho^2 + 1}}{\alpha}},

valid under martingale dependence (each term may depend on the past, as a learning model's do),
as :math:`n` grows, for any fixed :math:`\rho > 0`. :math:`\rho` sets where it is tightest:
:func:`rho_for` makes it tightest at the intrinsic time :math:`n^\star \sigma^2`. The terms'
scale is unknown in advance (clicks, order values), so :meth:`Evidence.tuned` fixes
:math:`\rho` once, from the variance of the first terms, and keeps it for the rest of the
sequence. The CS is wider than the fixed-:math:`n` interval (by about 1.5 to 2 times near
:math:`n^\star`): that is the price of looking at every cycle.

:class:`Evidence` keeps only ``(n, mean, M2)``, merged exactly (Chan et al.'s update), so the
terms of every cycle add up without being stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

VARIANCE_FLOOR = 1e-12
"""The smallest variance :math:`\rho` is tuned for (terms that are all equal have none)."""


def rho_for(events: int, alpha: float, variance: float = 1.0) -> float:
    r"""The :math:`\rho` that makes the CS tightest after ``events`` terms of ``variance``:
    :math:`\rho^2 = (-2 \log \alpha + \log(-2 \log \alpha + 1)) / (n^\star \sigma^2)`."""
    if events < 1:
        raise ValueError(f"`events` must be at least 1, got {events}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    intrinsic = events * max(variance, VARIANCE_FLOOR)
    return math.sqrt((-2.0 * math.log(alpha) + math.log(-2.0 * math.log(alpha) + 1.0)) / intrinsic)


def cs_radius(n: int, variance: float, alpha: float, rho: float) -> float:
    """The half-width of the asymptotic CS after ``n`` terms of sample ``variance`` (see the
    module); infinite before two terms."""
    if n < 2:
        return math.inf
    v = n * variance * rho**2 + 1.0
    return math.sqrt(2.0 * v / (n**2 * rho**2) * math.log(math.sqrt(v) / alpha))


@dataclass(frozen=True)
class Evidence:
    """The running count, mean and sum of squared deviations (``M2``) of per-event terms.

    ``a + b`` is the evidence of both sets of terms, exactly as if they had been added one by
    one; ``Evidence.of(terms)`` summarises an array.
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    rho: float | None = None
    """The CS's tuning, fixed by :meth:`tuned` (kept by ``+``: the left side's, else the right's)."""

    @classmethod
    def of(cls, terms: np.ndarray) -> Evidence:
        terms = np.asarray(terms, dtype=float)
        if terms.size == 0:
            return cls()
        if not np.all(np.isfinite(terms)):
            raise ValueError("`terms` must be finite")
        mean = float(terms.mean())
        return cls(int(terms.size), mean, float(np.square(terms - mean).sum()))

    def __add__(self, other: Evidence) -> Evidence:
        rho = self.rho if self.rho is not None else other.rho
        if other.n == 0 or self.n == 0:
            kept = self if other.n == 0 else other
            return Evidence(kept.n, kept.mean, kept.m2, rho)
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta**2 * self.n * other.n / n
        return Evidence(n, mean, m2, rho)

    def tuned(self, events: int, confidence: float) -> Evidence:
        """This evidence with :math:`\rho` fixed for ``events`` terms of its variance so far,
        unless it was fixed before (it never changes once set)."""
        if self.rho is not None or self.n < 2:
            return self
        return Evidence(self.n, self.mean, self.m2, rho_for(events, 1.0 - confidence, self.variance))

    @property
    def variance(self) -> float:
        """The sample variance (0 before two terms)."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def bounds(self, confidence: float) -> tuple[float, float]:
        """The two-sided ``confidence`` CS of the running mean: ``(low, high)``; unbounded
        until :meth:`tuned` has fixed its tuning."""
        if self.rho is None:
            return -math.inf, math.inf
        radius = cs_radius(self.n, self.variance, 1.0 - confidence, self.rho)
        return self.mean - radius, self.mean + radius

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2, "rho": self.rho}

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> Evidence:
        """Evidence stored by :meth:`as_dict` (none: empty evidence).

        Raises
        ------
        ValueError
            If the document is not evidence.
        """
        if not doc:
            return cls()
        n, mean, m2, rho = doc.get("n"), doc.get("mean"), doc.get("m2"), doc.get("rho")
        if not (isinstance(n, int) and n >= 0 and isinstance(mean, (int, float)) and isinstance(m2, (int, float))):
            raise ValueError(f"not evidence: {doc!r}")
        if not (math.isfinite(mean) and math.isfinite(m2) and m2 >= 0):
            raise ValueError(f"not evidence: {doc!r}")
        if rho is not None and not (isinstance(rho, (int, float)) and math.isfinite(rho) and rho > 0):
            raise ValueError(f"not evidence: {doc!r}")
        return cls(n, float(mean), float(m2), None if rho is None else float(rho))
