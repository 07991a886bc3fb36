"""Inverse propensity scoring (IPS)."""

from __future__ import annotations

import numpy as np

from replay.estimate import Estimate, mean_estimate


def ips_terms(weights: np.ndarray, reward: np.ndarray) -> np.ndarray:
    r"""Per-event IPS terms :math:`w_i r_i`; their mean
    :math:`\hat V_{IPS} = \frac1n \sum_i w_i r_i` is unbiased when every action the target may
    take had a positive logging probability."""
    terms: np.ndarray = np.asarray(weights, dtype=float) * np.asarray(reward, dtype=float)
    return terms


def ips(weights: np.ndarray, reward: np.ndarray, level: float = 0.95) -> Estimate:
    """The IPS estimate of the target policy's value, with its normal interval."""
    return mean_estimate(ips_terms(weights, reward), level)
