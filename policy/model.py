"""The Vowpal Wabbit contextual-bandit model. The only module of mvt that imports ``vowpalwabbit``.

The model is a ``--cb_adf`` regressor: for a shared context line and one line per arm it predicts
each arm's *cost*. mvt speaks of rewards everywhere else; :func:`reward_cost` is the single
place where the sign flips.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import vowpalwabbit

from policy.learning import LearningSettings


def reward_cost(value: float) -> float:
    """Convert between mvt's reward and VW's cost: ``cost = -reward`` and ``reward = -cost``."""
    return -value


class VWModel:
    """A VW ``--cb_adf`` model scoring arms by expected reward.

    Not thread-safe: one model is used by one thread at a time. Call :meth:`close` when done
    (VW's ``finish()`` is called explicitly, never left to garbage collection).
    """

    def __init__(self, workspace: vowpalwabbit.Workspace) -> None:
        self._vw = workspace

    @classmethod
    def new(cls, settings: LearningSettings | None = None, seed: int = 0) -> VWModel:
        """A fresh, untrained model."""
        args = (settings or LearningSettings()).vw_args()
        return cls(vowpalwabbit.Workspace(f"{args} --random_seed {seed} --quiet"))

    @classmethod
    def from_bytes(cls, data: bytes) -> VWModel:
        """Load a model saved by :meth:`to_bytes` (its VW arguments are stored inside it).

        Raises
        ------
        ValueError
            If ``data`` is not a loadable VW model.
        """
        with tempfile.TemporaryDirectory(prefix="mvt-model-") as folder:
            path = os.path.join(folder, "model.vw")
            with open(path, "wb") as f:
                f.write(data)
            try:
                workspace = vowpalwabbit.Workspace(arg_list=["-i", path, "--quiet"])
            except RuntimeError as exc:
                raise ValueError(f"not a loadable VW model: {exc}") from exc
        return cls(workspace)

    def to_bytes(self) -> bytes:
        """The model's bytes, loadable by :meth:`from_bytes`."""
        with tempfile.TemporaryDirectory(prefix="mvt-model-") as folder:
            path = os.path.join(folder, "model.vw")
            self._vw.save(path)
            with open(path, "rb") as f:
                return f.read()

    def score(self, context_line: str, arm_lines: Sequence[str]) -> list[float]:
        """Expected reward of each arm (in the order of ``arm_lines``) for one context."""
        costs = self._vw.predict([context_line, *arm_lines])
        return [reward_cost(c) for c in costs]

    def learn(
        self,
        context_line: str,
        arm_lines: Sequence[str],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        """Update the model with one logged decision: arm ``chosen`` was shown with
        ``probability`` and earned ``reward``."""
        lines = [context_line, *arm_lines]
        label = f"0:{reward_cost(reward)!r}:{probability!r}"
        lines[chosen + 1] = f"{label} {arm_lines[chosen]}"
        self._vw.learn(lines)

    def close(self) -> None:
        """Release VW's native resources."""
        if not self._vw.finished:
            self._vw.finish()
