"""Diagnostics of importance weights."""

from __future__ import annotations

import numpy as np


def effective_sample_size(weights: np.ndarray) -> float:
    r"""Kish's effective sample size :math:`(\sum_i w_i)^2 / \sum_i w_i^2` (0 if all weights are 0)."""
    total_sq = float(np.square(weights).sum())
    return float(weights.sum()) ** 2 / total_sq if total_sq > 0 else 0.0
