"""Export joined examples in Vowpal Wabbit's decision-service JSON (DSJSON) format, one object
per line, readable by ``vw --cb_explore_adf --dsjson``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import orjson

from policy.arms import Arm
from policy.features import ARM_ID_FEATURE, ARM_NAMESPACE, CONTEXT_NAMESPACE
from policy.model import reward_cost
from trainer.join import Example


def dsjson_lines(examples: Iterable[Example], arms: Iterable[Arm]) -> Iterator[bytes]:
    """One DSJSON line (newline-terminated bytes) per example.

    The label is the logged arm (``_labelIndex``, 0-based; ``_label_Action``, 1-based), its cost
    (``-reward``) and its logged probability; ``c`` holds the context in namespace ``U`` and the
    eligible arms in ``_multi`` (namespace ``A``, as in training); ``a`` lists the 1-based action
    ids with the logged one first and ``p`` their logged probabilities.
    """
    features: Mapping[str, Mapping[str, object]] = {a.id: a.features for a in arms}
    for e in examples:
        chosen = e.chosen
        order = [chosen] + [i for i in range(len(e.actions)) if i != chosen]
        line = {
            "_label_cost": reward_cost(e.reward),
            "_label_probability": e.probability,
            "_label_Action": chosen + 1,
            "_labelIndex": chosen,
            "Timestamp": e.ts.isoformat(),
            "Version": "1",
            "EventId": e.event_id,
            "a": [i + 1 for i in order],
            "c": {
                CONTEXT_NAMESPACE: dict(e.context),
                "_multi": [{ARM_NAMESPACE: {ARM_ID_FEATURE: a, **features.get(a, {})}} for a in e.actions],
            },
            "p": [e.pmf[i] for i in order] if e.pmf else [e.probability],
        }
        yield orjson.dumps(line) + b"\n"
