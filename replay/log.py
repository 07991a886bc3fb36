"""Logged bandit data as flat numpy arrays, checked once at the entry point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BanditLog:
    """n logged events, each with its own list of eligible arms, stored flat.

    Event ``i``'s eligible arms are rows ``offsets[i]:offsets[i + 1]`` of the flat arrays
    (``m = offsets[-1]`` rows in all).

    Attributes
    ----------
    chosen : (n,) int array
        Position of the logged arm within its event's eligible arms.
    propensity : (n,) float array
        Logging probability of the logged arm, in (0, 1].
    reward : (n,) float array
        Observed reward, finite.
    offsets : (n + 1,) int array
        Start of each event's rows; ``offsets[0] == 0``.
    arm_codes : (m,) int array
        Arm of every row, as an index into ``arm_names``.
    arm_names : tuple of str
        The arm ids.
    predicted : (m,) float array
        A reward model's prediction for every row (zeros when there is none).
    """

    chosen: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    offsets: np.ndarray
    arm_codes: np.ndarray
    arm_names: tuple[str, ...]
    predicted: np.ndarray

    def __post_init__(self) -> None:
        n = self.chosen.shape[0]
        if n == 0:
            raise ValueError("the log holds no event")
        if self.propensity.shape != (n,) or self.reward.shape != (n,) or self.offsets.shape != (n + 1,):
            raise ValueError("`chosen`, `propensity`, `reward` must have n rows and `offsets` n + 1")
        sizes = np.diff(self.offsets)
        if self.offsets[0] != 0 or np.any(sizes < 1):
            raise ValueError("`offsets` must start at 0 and give every event at least one arm")
        m = int(self.offsets[-1])
        if self.arm_codes.shape != (m,) or self.predicted.shape != (m,):
            raise ValueError("`arm_codes` and `predicted` must have one row per eligible arm")
        if m and (self.arm_codes.min() < 0 or self.arm_codes.max() >= len(self.arm_names)):
            raise ValueError("`arm_codes` must index `arm_names`")
        if np.any(self.chosen < 0) or np.any(self.chosen >= sizes):
            raise ValueError("`chosen` must index an eligible arm of its event")
        if not np.all((self.propensity > 0) & (self.propensity <= 1)):
            raise ValueError("`propensity` must be in (0, 1]")
        if not (np.all(np.isfinite(self.reward)) and np.all(np.isfinite(self.predicted))):
            raise ValueError("`reward` and `predicted` must be finite")

    @classmethod
    def build(
        cls,
        eligible: Sequence[Sequence[str]],
        chosen: Sequence[int],
        propensity: Sequence[float],
        reward: Sequence[float],
        predicted: Sequence[Sequence[float]] | np.ndarray | None = None,
    ) -> BanditLog:
        """A log from per-event lists (``predicted`` aligned with ``eligible``, or already flat)."""
        sizes = [len(e) for e in eligible]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        if predicted is None:
            flat_predicted = np.zeros(int(offsets[-1]))
        elif isinstance(predicted, np.ndarray):
            flat_predicted = predicted.astype(float).ravel()
        else:
            flat_predicted = np.array([p for row in predicted for p in row], dtype=float)
        codes: dict[str, int] = {}
        arm_codes = np.array([codes.setdefault(a, len(codes)) for row in eligible for a in row], dtype=np.int64)
        return cls(
            chosen=np.asarray(chosen, dtype=np.int64),
            propensity=np.asarray(propensity, dtype=float),
            reward=np.asarray(reward, dtype=float),
            offsets=offsets,
            arm_codes=arm_codes,
            arm_names=tuple(codes),
            predicted=flat_predicted,
        )

    @property
    def m(self) -> int:
        return int(self.offsets[-1])

    @property
    def arms(self) -> np.ndarray:
        """Arm id of every row (object array; for reading, not for computing)."""
        arms: np.ndarray = np.asarray(self.arm_names, dtype=object)[self.arm_codes]
        return arms

    @property
    def n(self) -> int:
        return int(self.chosen.shape[0])

    @property
    def starts(self) -> np.ndarray:
        return self.offsets[:-1]

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def chosen_rows(self) -> np.ndarray:
        """Flat row of each event's logged arm."""
        rows: np.ndarray = self.starts + self.chosen
        return rows

    def per_event_sum(self, flat: np.ndarray) -> np.ndarray:
        """Sum of a flat (m,) array over each event's rows."""
        return np.add.reduceat(flat, self.starts)
