"""Train a VW policy from joined examples."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from policy.features import arm_line, context_line
from policy.learning import LearningSettings
from policy.model import VWModel
from trainer.join import Example

Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000


def train_policy(
    examples: Callable[[], Iterable[Example]],
    arm_lines: Mapping[str, str],
    settings: LearningSettings,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[VWModel, int]:
    """Learn a model from logged examples; return it with the number of examples per pass.

    Each example teaches VW the shown arm's cost (``-reward``) at its logged probability; VW's
    ``cb_type`` decides how that estimates the other arms. Training is deterministic for the
    same examples, settings and seed.

    Parameters
    ----------
    examples
        Called once per pass; each call yields the examples in the same order.
    arm_lines
        VW line of every current arm; an arm that has left the experiment since it was logged
        is encoded by its id alone.
    progress
        Called with the number of examples learned so far, every 10,000 examples.
    """
    model = VWModel.new(settings, seed=seed)
    learned = count = 0
    try:
        for _ in range(settings.passes):
            count = 0
            for example in examples():
                lines = [arm_lines.get(a) or arm_line(a, {}) for a in example.actions]
                model.learn(context_line(example.context), lines, example.chosen, example.probability, example.reward)
                count += 1
                learned += 1
                if progress is not None and learned % PROGRESS_EVERY == 0:
                    progress(learned)
    except BaseException:
        model.close()
        raise
    return model, count
