"""How an experiment is doing now, for the operator console: traffic and reward over time by
serving group, data health, segments by context feature, and which features the policy's
choices depend on. Read from the store; nothing is trained or written.

- **Traffic**: decisions per time bucket by group (``bandit``, ``holdout``, ``paused``); the
  mean reward of those whose attribution window has closed, with a normal-approximation
  interval (``mean ± z·sd/√n``). Decisions younger than ``reward.window_seconds`` are counted
  but not yet rewarded: their rewards may still come.
- **Health**: of the closed decisions, the share that got the default reward (no reward event
  in the window), rewards late or early, deferred decisions never activated, unreadable
  records; and the holdout's **sample-ratio check**: with holdout fraction ``f`` and ``k`` of
  ``n`` bandit-or-holdout decisions in the holdout, ``z = (k − n f) / √(n f (1 − f))`` and the
  two-sided p-value ``erfc(|z| / √2)``; a tiny p-value means visitors are not being split as
  configured.
- **Segments**: per categorical context feature (at most :data:`MAX_LEVELS` values), per value:
  closed decisions, their mean reward, and the arm shown most.
- **Importance**: per context feature, the share of recent decisions whose greedy arm under the
  serving policy changes when that feature's value is swapped for another decision's (a seeded
  permutation): 0 means the policy ignores the feature.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from policy.decision import score_arms
from policy.experiment import Experiment
from policy.exploration import greedy_set
from policy.model import VWModel
from policy.records import Decision
from store.repositories import Store
from trainer.join import Example, JoinStats, closed_examples
from trainer.models import serving_model
from trainer.train import encode

MAX_LEVELS = 12
IMPORTANCE_SAMPLE = 300
Z = 1.96


def summary(
    store: Store,
    experiment: Experiment,
    now: datetime,
    *,
    hours: float = 24.0,
    buckets: int = 24,
    seed: int = 0,
) -> dict[str, Any]:
    """The module's figures over the last ``hours`` before ``now``, in ``buckets`` equal time
    buckets (importance only with a serving policy)."""
    start = now - timedelta(hours=hours)
    width = timedelta(hours=hours) / buckets
    decisions = [d for d in store.events.decisions_between(experiment.id, start, now) if isinstance(d, Decision)]
    stats = JoinStats()
    examples = list(closed_examples(store, experiment, now, stats, start=start))
    saved = serving_model(store, experiment)
    model = VWModel.from_bytes(saved) if saved is not None else None
    try:
        importance = [] if model is None else _importance(model, examples, experiment, seed)
    finally:
        if model is not None:
            model.close()
    return {
        "experiment": experiment.id,
        "from": start,
        "to": now,
        "bucket_seconds": width.total_seconds(),
        "traffic": _traffic(decisions, examples, start, width, buckets),
        "health": _health(decisions, stats, experiment),
        "segments": _segments(examples),
        "importance": importance,
    }


def _mean(rewards: Sequence[float]) -> dict[str, Any]:
    n = len(rewards)
    if n == 0:
        return {"n": 0, "value": None, "low": None, "high": None}
    mean = math.fsum(rewards) / n
    sd = math.sqrt(math.fsum((r - mean) ** 2 for r in rewards) / (n - 1)) if n > 1 else 0.0
    half = Z * sd / math.sqrt(n) if n > 1 else math.inf
    return {"n": n, "value": mean, "low": mean - half, "high": mean + half}


def _traffic(
    decisions: Sequence[Decision], examples: Sequence[Example], start: datetime, width: timedelta, buckets: int
) -> list[dict[str, Any]]:
    def index(ts: datetime) -> int:
        return min(buckets - 1, max(0, int((ts - start) / width)))

    counted: list[Counter[str]] = [Counter() for _ in range(buckets)]
    for d in decisions:
        counted[index(d.ts)][d.group] += 1
    rewarded: list[dict[str, list[float]]] = [defaultdict(list) for _ in range(buckets)]
    for e in examples:
        rewarded[index(e.ts)][e.group].append(e.reward)
    return [
        {
            "start": start + i * width,
            "decisions": dict(counted[i]),
            "reward": {group: _mean(values) for group, values in rewarded[i].items()},
        }
        for i in range(buckets)
    ]


def _health(decisions: Sequence[Decision], stats: JoinStats, experiment: Experiment) -> dict[str, Any]:
    closed = stats.examples
    split = [d for d in decisions if d.group in ("bandit", "holdout")]
    held = sum(d.group == "holdout" for d in split)
    f = experiment.holdout
    ratio: dict[str, Any] | None = None
    if f > 0 and split:
        n = len(split)
        z = (held - n * f) / math.sqrt(n * f * (1 - f))
        ratio = {"expected": f, "observed": held / n, "decisions": n, "p_value": math.erfc(abs(z) / math.sqrt(2))}
    return {
        "decisions": len(decisions),
        "closed": closed,
        "default_reward_share": stats.defaulted / closed if closed else None,
        "rewards_joined": stats.rewards_joined,
        "rewards_late": stats.rewards_late,
        "rewards_early": stats.rewards_early,
        "not_activated": stats.not_activated,
        "unreadable": stats.unreadable + stats.rewards_unreadable,
        "holdout_ratio": ratio,
    }


def _segments(examples: Sequence[Example]) -> list[dict[str, Any]]:
    values: dict[str, dict[str, list[Example]]] = defaultdict(lambda: defaultdict(list))
    for e in examples:
        for name, value in e.context.items():
            if isinstance(value, (str, bool)):
                values[name][str(value).lower() if isinstance(value, bool) else value].append(e)
    found = []
    for name in sorted(values):
        levels = values[name]
        if len(levels) > MAX_LEVELS:
            continue
        rows = []
        for level, group in sorted(levels.items(), key=lambda item: -len(item[1])):
            arm, shown = Counter(e.action for e in group).most_common(1)[0]
            rows.append(
                {
                    "value": level,
                    "decisions": len(group),
                    "reward": _mean([e.reward for e in group]),
                    "top_arm": arm,
                    "top_arm_share": shown / len(group),
                }
            )
        found.append({"feature": name, "values": rows})
    return found


def _importance(model: VWModel, examples: Sequence[Example], experiment: Experiment, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    sample = examples if len(examples) <= IMPORTANCE_SAMPLE else rng.sample(list(examples), IMPORTANCE_SAMPLE)
    if len(sample) < 2:
        return []
    lines: Mapping[str, str] = experiment.arm_lines

    def greedy(example: Example, context: Mapping[str, Any]) -> frozenset[int]:
        moved = Example(example.event_id, example.ts, context, example.actions, example.action, 1.0, 0.0)
        context_line, arm_lines = encode(moved, lines)
        return frozenset(greedy_set(score_arms(model, context_line, arm_lines)[0]))

    chosen = [greedy(e, e.context) for e in sample]
    names = sorted({name for e in sample for name in e.context})
    found = []
    for name in names:
        donors = [e.context.get(name) for e in sample]
        rng.shuffle(donors)
        changed = 0
        for e, before, donor in zip(sample, chosen, donors):
            context = {k: v for k, v in e.context.items() if k != name}
            if donor is not None:
                context[name] = donor
            changed += greedy(e, context) != before
        found.append({"feature": name, "changed_share": changed / len(sample)})
    return sorted(found, key=lambda item: -float(item["changed_share"]))
