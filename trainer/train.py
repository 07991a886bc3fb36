"""Train VW policies from joined examples."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

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


def train_policies(
    examples: Callable[[], Iterable[Example]],
    arm_lines: Mapping[str, str],
    settings: Sequence[LearningSettings],
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[VWModel]:
    """Learn one model per entry of ``settings`` from the same logged examples, in one read of
    the data per pass.

    Each example teaches VW the shown arm's cost (``-reward``) at its logged probability; VW's
    ``cb_type`` decides how that estimates the other arms. Training is deterministic for the
    same examples, settings and seed.

    Parameters
    ----------
    examples
        Called once per pass; each call yields the examples in the same order.
    arm_lines
        VW line of every current arm (see :func:`encode`).
    settings
        A model with ``passes = p`` learns in the first ``p`` passes.
    progress
        Called with the number of examples read so far, every 10,000 examples.
    """
    models = [VWModel.new(s, seed=seed) for s in settings]
    read = 0
    try:
        for done in range(max(s.passes for s in settings)):
            learning = [m for m, s in zip(models, settings) if s.passes > done]
            for example in examples():
                context, lines = encode(example, arm_lines)
                for model in learning:
                    model.learn(context, lines, example.chosen, example.probability, example.reward)
                read += 1
                if progress is not None and read % PROGRESS_EVERY == 0:
                    progress(read)
    except BaseException:
        for model in models:
            model.close()
        raise
    return models
