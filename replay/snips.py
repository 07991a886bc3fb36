"""Self-normalised inverse propensity scoring (SNIPS)."""

from __future__ import annotations

import numpy as np

from replay.estimate import Estimate, mean_estimate


def snips_value(weights: np.ndarray, reward: np.ndarray) -> float:
    r""":math:`\hat V_{SNIPS} = \sum_i w_i r_i / \sum_i w_i` (0 when every weight is 0)."""
    total = float(np.sum(weights))
    return float(np.dot(weights, reward)) / total if total > 0 else 0.0


def snips_terms(weights: np.ndarray, reward: np.ndarray) -> np.ndarray:
    r"""Linearised per-event terms of SNIPS (delta method), centred on the estimate:

    .. math:: t_i = \hat V + \frac{w_i (r_i - \hat V)}{\bar w}

    Their mean is :math:`\hat V`; their standard deviation gives the interval, and differences of
    two policies' terms give a paired interval.
    """
    weights = np.asarray(weights, dtype=float)
    reward = np.asarray(reward, dtype=float)
    value = snips_value(weights, reward)
    mean_weight = float(weights.mean())
    if mean_weight == 0:
        return np.full(weights.shape, value)
    return value + weights * (reward - value) / mean_weight


def snips(weights: np.ndarray, reward: np.ndarray, level: float = 0.95) -> Estimate:
    """The SNIPS estimate with its delta-method interval."""
    return mean_estimate(snips_terms(weights, reward), level, center=snips_value(weights, reward))
