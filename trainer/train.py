"""Train VW policies from joined examples."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import VWModel
from trainer.join import Example

Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000


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
    """The examples encoded (see :func:`encode`)."""
    for example in examples:
        context, lines = encode(example, arm_lines)
        yield Row(context, lines, example.chosen, example.probability, example.reward)


def again(rows: Sequence[Row]) -> Callable[[], Iterable[Row]]:
    """Rows already in memory as the data of :func:`learn`, read again at every pass."""
    return lambda: rows


def train_policies(
    examples: Callable[[], Iterable[Example]],
    arm_lines: Mapping[str, str],
    settings: Sequence[LearningSettings],
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[VWModel]:
    """Learn one model per entry of ``settings`` from the same logged examples, encoding each
    example once per read of the data (see :func:`learn`).

    Parameters
    ----------
    examples
        Called once per pass; each call yields the examples in the same order.
    arm_lines
        VW line of every current arm (see :func:`encode`).
    """
    return learn(lambda: rows(examples(), arm_lines), settings, seed=seed, progress=progress)


def learn(
    data: Callable[[], Iterable[Row]],
    settings: Sequence[LearningSettings],
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[VWModel]:
    """Learn one model per entry of ``settings`` from encoded rows, in one read per pass.

    Each row teaches VW the shown arm's cost (``-reward``) at its logged probability; VW's
    ``cb_type`` decides how that estimates the other arms. Training is deterministic for the
    same rows, settings and seed.

    Parameters
    ----------
    data
        Called once per pass; each call yields the rows in the same order.
    settings
        A model with ``passes = p`` learns in the first ``p`` passes.
    progress
        Called with the number of rows read so far, every 10,000 rows.
    """
    models = [VWModel.new(s, seed=seed) for s in settings]
    read = 0
    try:
        for done in range(max(s.passes for s in settings)):
            learning = [m for m, s in zip(models, settings) if s.passes > done]
            for row in data():
                for model in learning:
                    model.learn(row.context, row.lines, row.chosen, row.probability, row.reward)
                read += 1
                if progress is not None and read % PROGRESS_EVERY == 0:
                    progress(read)
    except BaseException:
        for model in models:
            model.close()
        raise
    return models
