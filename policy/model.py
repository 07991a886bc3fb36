"""The Vowpal Wabbit contextual-bandit model. The only module of mvt that imports ``vowpalwabbit``.

The model is a ``--cb_adf`` regressor: for a shared context line and one line per arm it predicts
each arm's *cost*. mvt speaks of rewards everywhere else; :func:`reward_cost` is the single
place where the sign flips.

A model learns one example per call (:meth:`VWModel.learn`, for a few examples) or from a file
of examples that VW's own parser reads (:meth:`VWModel.run`, for training: about five times the
examples per second, and VW's work runs outside Python's global interpreter lock).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO, TypeVar

import numpy as np
import pylibvw
import vowpalwabbit

from policy.learning import LearningSettings

Number = TypeVar("Number", float, np.ndarray)


def reward_cost(value: Number) -> Number:
    """Convert between mvt's reward and VW's cost: ``cost = -reward`` and ``reward = -cost``."""
    return -value


def example_lines(
    context_line: str,
    arm_lines: Sequence[str],
    chosen: int | None = None,
    probability: float = 1.0,
    reward: float = 0.0,
) -> list[str]:
    """One example in VW's multi-line text format: the shared context line, then one line per
    arm; arm ``chosen`` carries the label (it was shown with ``probability`` and earned
    ``reward``). Without ``chosen`` the example is unlabelled: VW predicts it and learns nothing."""
    lines = [context_line, *arm_lines]
    if chosen is not None:
        lines[chosen + 1] = f"0:{reward_cost(reward)!r}:{probability!r} {arm_lines[chosen]}"
    return lines


def write_example(out: TextIO, lines: Sequence[str]) -> None:
    """Append one example (:func:`example_lines`) to a VW data file; a blank line ends it."""
    out.write("\n".join(lines))
    out.write("\n\n")


@dataclass(frozen=True)
class Predictions:
    """The rewards a run predicted, flat: example ``i``'s arms, in their example order, are
    ``values[offsets[i]:offsets[i + 1]]``."""

    values: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def part(self, start: int, stop: int) -> Predictions:
        """Examples ``start`` to ``stop - 1`` (``0 <= start <= stop <= len``)."""
        offsets = self.offsets[start : stop + 1]
        return Predictions(self.values[offsets[0] : offsets[-1]], offsets - offsets[0])

    @staticmethod
    def joined(parts: Sequence[Predictions]) -> Predictions:
        """The examples of ``parts``, one after the other."""
        sizes = np.concatenate([np.diff(p.offsets) for p in parts])
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return Predictions(np.concatenate([p.values for p in parts]), offsets)

    def rows(self) -> list[list[float]]:
        """Each example's predicted rewards, as lists."""
        return [self.values[a:b].tolist() for a, b in zip(self.offsets[:-1], self.offsets[1:])]


def read_predictions(path: str) -> Predictions:
    """The expected rewards that VW's ``-p … --rank_all`` wrote: one ``arm:cost,…`` line per
    example (arms by index, best first), in the order the examples were read. VW prints six
    significant digits."""
    with open(path, encoding="ascii") as f:
        text = f.read()
    lines = text.split()  # blank lines end multi-line examples: no line holds a space
    sizes = np.array([line.count(",") + 1 for line in lines], dtype=np.int64)
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    numbers = np.fromstring(text.replace(":", " ").replace(",", " "), sep=" ")  # arm, cost, arm, cost…
    values = np.empty(int(offsets[-1]))
    values[np.repeat(offsets[:-1], sizes) + numbers[0::2].astype(np.int64)] = reward_cost(numbers[1::2])
    return Predictions(values, offsets)


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

    @classmethod
    def run(
        cls, data: str, start: LearningSettings | bytes, *, learn: bool = True, passes: int = 1, seed: int = 0
    ) -> tuple[VWModel, Predictions]:
        """Let VW's own parser read the examples of file ``data`` (:func:`write_example`), in
        order, ``passes`` times, with a new model of settings ``start`` or a copy of the model
        saved in ``start`` (its learning state included); ``learn=False`` only predicts.

        Returns the model as the run left it and, for every example read (pass after pass), the
        rewards VW predicted for its arms *before* learning it: progressive validation, as
        :meth:`score` then :meth:`learn` per example would give, to VW's printed precision.

        Raises
        ------
        ValueError
            If ``start`` is not a loadable VW model.
        """
        with tempfile.TemporaryDirectory(prefix="mvt-run-") as folder:
            if isinstance(start, bytes):
                path = os.path.join(folder, "start.vw")
                with open(path, "wb") as f:
                    f.write(start)
                args = ["-i", path]
            else:
                args = [*start.vw_args().split(), "--random_seed", str(seed)]
            predictions = os.path.join(folder, "predictions")
            args += ["-d", data, "-p", predictions, "--rank_all", "--quiet"]
            if not learn:
                args.append("-t")
            if passes > 1:
                args += ["--passes", str(passes), "--holdout_off", "-k", "--cache_file", os.path.join(folder, "cache")]
            try:
                workspace = vowpalwabbit.Workspace(arg_list=args)
            except RuntimeError as exc:
                if isinstance(start, bytes):
                    raise ValueError(f"not a loadable VW model: {exc}") from exc
                raise
            model = cls(workspace)
            try:
                workspace.run_parser()
                return model, read_predictions(predictions)
            except BaseException:
                model.close()
                raise

    def to_bytes(self) -> bytes:
        """The model's bytes, loadable by :meth:`from_bytes`."""
        with tempfile.TemporaryDirectory(prefix="mvt-model-") as folder:
            path = os.path.join(folder, "model.vw")
            self._vw.save(path)
            with open(path, "rb") as f:
                return f.read()

    def score(self, context_line: str, arm_lines: Sequence[str]) -> list[float]:
        """Expected reward of each arm (in the order of ``arm_lines``) for one context.

        What ``Workspace.predict`` does with a list of lines, through VW's native binding
        directly: pyvw wraps every parsed line in a Python ``Example`` first, which took 84 µs
        of the 15 µs a 12-arm decision takes without it (BENCHMARKS.md; a test compares both).
        """
        text = "\n".join((context_line, *arm_lines)).replace("\r", "").strip()  # as pyvw prepares it
        examples = self._vw._parse(text)
        try:
            pylibvw.vw.predict_multi(self._vw, examples)
            costs = examples[0].get_action_scores()
        finally:
            pylibvw.vw._finish_example_multi_ex(self._vw, examples)
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
        self._vw.learn(example_lines(context_line, arm_lines, chosen, probability, reward))

    def close(self) -> None:
        """Release VW's native resources."""
        if not self._vw.finished:
            self._vw.finish()
