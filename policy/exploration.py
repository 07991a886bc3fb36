"""Exploration: turn a policy's arm scores into a probability mass function (pmf) and sample it.

Exploration is applied by the service, not baked into the model, so an operator's change of
epsilon takes effect at once and the logged probability is exactly the one used to sample.
Scores are expected rewards: higher is better.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class ExplorationStrategy(ABC):
    """A rule mapping scores to a pmf. Subclasses implement only :meth:`_pmf`."""

    def pmf(self, scores: Sequence[float]) -> list[float]:
        """Return the probability of each arm, in the order of ``scores``.

        Raises
        ------
        ValueError
            If ``scores`` is empty or holds a non-finite number.
        """
        if not scores:
            raise ValueError("`scores` must hold at least one arm")
        if not all(math.isfinite(s) for s in scores):
            raise ValueError(f"`scores` must be finite, got {list(scores)!r}")
        return self._pmf(scores)

    @abstractmethod
    def _pmf(self, scores: Sequence[float]) -> list[float]: ...

    @abstractmethod
    def pmfs(self, scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """:meth:`pmf` of many events at once, flat: event ``i``'s scores are
        ``scores[offsets[i]:offsets[i + 1]]`` (finite, at least one per event), and so are its
        probabilities in the result, equal to those :meth:`pmf` gives."""


@dataclass(frozen=True)
class EpsilonGreedy(ExplorationStrategy):
    r"""Epsilon-greedy with ties sharing the greedy mass.

    With :math:`K` arms and greedy set :math:`G = \arg\max_a s_a`,

    .. math:: \pi(a) = \frac{\epsilon}{K} + \mathbb{1}[a \in G]\,\frac{1 - \epsilon}{|G|}

    so every arm keeps at least :math:`\epsilon / K` and, before a model is trained (all scores
    equal), the pmf is uniform. ``epsilon = 0`` is the greedy policy (ties still shared).
    """

    epsilon: float

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, (int, float)) and 0.0 <= self.epsilon <= 1.0):
            raise ValueError(f"`epsilon` must be in [0, 1], got {self.epsilon!r}")

    def _pmf(self, scores: Sequence[float]) -> list[float]:
        best = max(scores)
        greedy = [s == best for s in scores]
        floor = self.epsilon / len(scores)
        top = floor + (1.0 - self.epsilon) / sum(greedy)
        return [top if g else floor for g in greedy]

    def pmfs(self, scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        starts, sizes = offsets[:-1], np.diff(offsets)
        greedy = scores == np.repeat(np.maximum.reduceat(scores, starts), sizes)
        floor = self.epsilon / sizes
        top = floor + (1.0 - self.epsilon) / np.add.reduceat(greedy, starts)
        result: np.ndarray = np.where(greedy, np.repeat(top, sizes), np.repeat(floor, sizes))
        return result


GREEDY = EpsilonGreedy(0.0)
"""The greedy policy: all mass on the top-scoring arms, shared by ties."""


def greedy_set(scores: Sequence[float]) -> set[int]:
    """Indices of the highest-scoring arms."""
    best = max(scores)
    return {i for i, s in enumerate(scores) if s == best}


def sample(pmf: Sequence[float], rng: random.Random) -> tuple[int, float]:
    """Draw an index from ``pmf`` by inversion; return it with the probability it was drawn with.

    The returned probability is ``pmf[index]`` itself, the value to log as the propensity.
    Floating-point slack in the cumulative sum never selects an arm of probability zero.
    """
    u = rng.random()
    cumulative = 0.0
    chosen = -1
    for i, p in enumerate(pmf):
        if p <= 0.0:
            continue
        chosen = i
        cumulative += p
        if u < cumulative:
            break
    if chosen < 0:
        raise ValueError("`pmf` has no positive entry")
    return chosen, pmf[chosen]
