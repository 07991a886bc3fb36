r"""Evidence that accumulates over looks: a running mean of per-event terms, and an interval for
it that stays valid however many times it is looked at.

A confidence interval is valid at one fixed sample size; reading it after every training cycle
and stopping at the first good-looking one inflates its error rate without bound. Here the
error budget :math:`\alpha = 1 - c` is *spent* over the looks: the :math:`k`-th look (the
:math:`k`-th cycle that reads the evidence) gets

.. math:: \alpha_k = \frac{\alpha}{k (k + 1)}, \qquad \sum_{k \ge 1} \alpha_k = \alpha,

and its interval is the normal one at that level,

.. math:: \hat\mu_n \pm z_{1 - \alpha_k / 2} \frac{\hat\sigma_n}{\sqrt n},

over all :math:`n` terms so far. By the union bound, the probability that *any* look's interval
misses the running average of the terms' conditional means is at most
:math:`\sum_k \alpha_k = \alpha`, whatever the dependence between looks, and at most
:math:`\alpha / 2` on either side. Each look's level holds asymptotically in its number of terms,
under martingale dependence (each term may depend on the past, as a learning model's do; the
sample variance then over-states the martingale's, which errs on the safe side).

Half the budget goes to the first look (:math:`z = 2.24` at :math:`c = 0.95`, against 1.96 for
a one-off test), which is where an experiment's first decision is made; the later looks share
the rest (:math:`z` = 2.64, 2.87, 3.02 at looks 2–4, 3.51 at look 10). A confidence sequence
valid at every event (Waudby-Smith et al., 2021), which this module used before, pays
:math:`z \approx 3.0` already at the first look, because it also covers the looks a training
schedule never makes.

:class:`Evidence` keeps only ``(n, mean, M2)``, merged exactly (Chan et al.'s update), so the
terms of every cycle add up without being stored, and the number of looks so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


def spent(look: int, confidence: float) -> float:
    r"""The two-sided error level of look number ``look`` (from 1): :math:`\alpha / (k(k+1))`
    with :math:`\alpha = 1 - c`."""
    if look < 1:
        raise ValueError(f"`look` must be at least 1, got {look}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"`confidence` must be in (0, 1), got {confidence!r}")
    return (1.0 - confidence) / (look * (look + 1))


def critical_value(look: int, confidence: float) -> float:
    r"""The normal quantile that look number ``look`` uses: :math:`z_{1 - \alpha_k / 2}`."""
    return NormalDist().inv_cdf(1.0 - spent(look, confidence) / 2.0)


@dataclass(frozen=True)
class Evidence:
    """The running count, mean and sum of squared deviations (``M2``) of per-event terms, and
    how many ``looks`` have read them.

    ``a + b`` is the evidence of both sets of terms, exactly as if they had been added one by
    one, with both sides' looks; ``Evidence.of(terms)`` summarises an array (no look yet);
    :meth:`looked` counts a look.
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    looks: int = 0

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
        looks = self.looks + other.looks
        if other.n == 0 or self.n == 0:
            kept = self if other.n == 0 else other
            return Evidence(kept.n, kept.mean, kept.m2, looks)
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta**2 * self.n * other.n / n
        return Evidence(n, mean, m2, looks)

    def looked(self) -> Evidence:
        """This evidence, read once more: the next look, which :meth:`bounds` then spends."""
        return Evidence(self.n, self.mean, self.m2, self.looks + 1)

    @property
    def variance(self) -> float:
        """The sample variance (0 before two terms)."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def bounds(self, confidence: float) -> tuple[float, float]:
        """The two-sided interval of the running mean at this look's level (see the module):
        ``(low, high)``; unbounded before two terms or before any look."""
        if self.n < 2 or self.looks < 1:
            return -math.inf, math.inf
        radius = critical_value(self.looks, confidence) * math.sqrt(self.variance / self.n)
        return self.mean - radius, self.mean + radius

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2, "looks": self.looks}

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> Evidence:
        """Evidence stored by :meth:`as_dict` (none: empty evidence). Evidence stored before
        looks were counted counts as read once.

        Raises
        ------
        ValueError
            If the document is not evidence.
        """
        if not doc:
            return cls()
        n, mean, m2 = doc.get("n"), doc.get("mean"), doc.get("m2")
        looks = doc.get("looks", 1 if n else 0)
        if not (isinstance(n, int) and n >= 0 and isinstance(mean, (int, float)) and isinstance(m2, (int, float))):
            raise ValueError(f"not evidence: {doc!r}")
        if not (math.isfinite(mean) and math.isfinite(m2) and m2 >= 0):
            raise ValueError(f"not evidence: {doc!r}")
        if not (isinstance(looks, int) and not isinstance(looks, bool) and looks >= 0):
            raise ValueError(f"not evidence: {doc!r}")
        return cls(n, float(mean), float(m2), looks)
