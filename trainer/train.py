"""Train VW policies from joined examples, with VW's own parser reading them from a file.

The examples are encoded and written once (:func:`data_file`); each model is then one VW run
over the file (:meth:`policy.model.VWModel.run`), and runs for several settings proceed in
parallel threads, one per core: VW's work does not hold Python's global interpreter lock.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import Predictions, VWModel, example_lines, write_example
from trainer.join import Example

Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000
T = TypeVar("T")


def encode(example: Example, arm_lines: Mapping[str, str]) -> tuple[str, list[str]]:
    """An example's VW context line and the lines of its eligible arms; an arm that has left the
    experiment since it was logged is encoded by its id alone."""
    return context_line(example.context), [arm_lines.get(a) or arm_line(a, {}) for a in example.actions]


@dataclass(frozen=True)
class Row:
    """An example encoded for VW: the context line, the eligible arms' lines, the shown arm's
    index among them, its logged probability and the reward."""

    context: str
    lines: list[str]
    chosen: int
    probability: float
    reward: float


def rows(examples: Iterable[Example], arm_lines: Mapping[str, str]) -> Iterator[Row]:
    """The examples encoded (see :func:`encode`); examples with the same eligible arms share
    one list of arm lines."""
    shared: dict[tuple[str, ...], list[str]] = {}
    for example in examples:
        lines = shared.get(example.actions)
        if lines is None:
            lines = shared[example.actions] = encode(example, arm_lines)[1]
        yield Row(context_line(example.context), lines, example.chosen, example.probability, example.reward)


@contextmanager
def data_file(
    labelled: Iterable[Row], unlabelled: Iterable[Row] = (), progress: Progress | None = None
) -> Iterator[str]:
    """The path of a temporary VW data file holding ``labelled`` rows, then ``unlabelled`` ones
    without their labels (VW predicts those and learns nothing from them); it is removed on exit.

    ``progress`` is called with the number of rows written so far, every 10,000 rows.
    """
    with tempfile.TemporaryDirectory(prefix="mvt-data-") as folder:
        path = os.path.join(folder, "examples.vw")
        written = 0
        with open(path, "w", encoding="utf-8") as out:
            for labels, part in ((True, labelled), (False, unlabelled)):
                for row in part:
                    chosen = row.chosen if labels else None
                    write_example(out, example_lines(row.context, row.lines, chosen, row.probability, row.reward))
                    written += 1
                    if progress is not None and written % PROGRESS_EVERY == 0:
                        progress(written)
        yield path


def cores() -> int:
    """The cores this process may run on (all of the machine's where that cannot be asked)."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def in_parallel(tasks: Sequence[Callable[[], T]], release: Callable[[T], None] | None = None) -> list[T]:
    """Each task's result, in order; the tasks run in one thread per core (at most one per
    task). If any raises, ``release`` is called on the results of the others and the first
    exception is raised, once all have ended."""
    workers = max(1, min(len(tasks), cores()))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mvt-vw") as pool:
        futures = [pool.submit(task) for task in tasks]
    errors = [error for error in (f.exception() for f in futures) if error is not None]
    if errors:
        for future in futures:
            if future.exception() is None and release is not None:
                release(future.result())
        raise errors[0]
    return [future.result() for future in futures]


def train_policies(
    examples: Iterable[Example],
    arm_lines: Mapping[str, str],
    settings: Sequence[LearningSettings],
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[VWModel]:
    """Learn one model per entry of ``settings`` from the same logged examples (see
    :func:`learn`); ``arm_lines`` is the VW line of every current arm (see :func:`encode`)."""
    return learn(rows(examples, arm_lines), settings, seed=seed, progress=progress)


def learn(
    data: Iterable[Row],
    settings: Sequence[LearningSettings],
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[VWModel]:
    """Learn one model per entry of ``settings`` from encoded rows, each in ``passes`` passes
    over them in order.

    Each row teaches VW the shown arm's cost (``-reward``) at its logged probability; VW's
    ``cb_type`` decides how that estimates the other arms. Training is deterministic for the
    same rows, settings and seed.
    """
    with data_file(data, progress=progress) as path:
        return in_parallel([partial(_trained, path, s, seed) for s in settings], VWModel.close)


def _trained(path: str, settings: LearningSettings, seed: int) -> VWModel:
    model, _ = VWModel.run(path, settings, passes=settings.passes, seed=seed)
    return model


def fit_predict(path: str, unlabelled: int, settings: LearningSettings, *, seed: int = 0) -> Predictions:
    """Train a model of ``settings`` on the labelled rows of a :func:`data_file` and return its
    predicted rewards for its ``unlabelled`` rows, as it stands after the last pass."""
    model, predicted = VWModel.run(path, settings, passes=settings.passes, seed=seed)
    model.close()
    return predicted.part(len(predicted) - unlabelled, len(predicted))
