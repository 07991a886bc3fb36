"""Doubly robust (DR) estimation."""

from __future__ import annotations

import numpy as np

from replay.estimate import Estimate, mean_estimate


def dr_terms(weights: np.ndarray, reward: np.ndarray, direct: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    r"""Per-event DR terms

    .. math:: t_i = \sum_a \pi(a \mid x_i)\, \hat r(x_i, a) + w_i \big(r_i - \hat r(x_i, a_i)\big)

    Parameters
    ----------
    weights : (n,) array
        Importance weights of the logged actions.
    reward : (n,) array
        Observed rewards.
    direct : (n,) array
        The reward model's value of the target policy on each event,
        :math:`\sum_a \pi(a \mid x_i) \hat r(x_i, a)`.
    predicted : (n,) array
        The reward model's prediction for the logged action, :math:`\hat r(x_i, a_i)`.

    The mean is unbiased if either the propensities or the reward model are right, and its
    variance is lower than IPS's when the model is good. The reward model must not have been
    fitted on these events.
    """
    terms: np.ndarray = np.asarray(direct, dtype=float) + np.asarray(weights, dtype=float) * (
        np.asarray(reward, dtype=float) - np.asarray(predicted, dtype=float)
    )
    return terms


def dr(
    weights: np.ndarray, reward: np.ndarray, direct: np.ndarray, predicted: np.ndarray, level: float = 0.95
) -> Estimate:
    """The DR estimate of the target policy's value, with its normal interval."""
    return mean_estimate(dr_terms(weights, reward, direct, predicted), level)
