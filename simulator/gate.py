"""The promotion gate under attack, offline: how often a harmful learner is promoted, and how
long a serving policy that became harmful keeps serving.

Everything is judged by the code a training cycle runs (:func:`trainer.progressive.
score_and_learn`, :func:`trainer.report.evaluate_cycle`, :mod:`trainer.promotion`), on logs the
simulated shop produces with exact propensities: a good serving policy (the default learner on
``step`` uniform events) serves with epsilon-greedy exploration, ``step`` events a cycle.

- **A harmful learner** learns each cycle's events with corrupted rewards (``permuted`` across
  events, ``inverted``, or ``poor_layout``: a click for one poor layout only) and is scored on
  the true ones, its evidence accumulating over the cycles as a lineage's does. It is looked at
  after every cycle by both rules: superiority (a new lineage) and non-inferiority (a
  continuing update of the serving lineage), and by a *point-estimate* gate (the mean alone
  above the threshold) that shows what the interval adds.
- **A serving policy that becomes harmful**: the shop's tastes change under a policy trained
  before (``drift``), or an operator activates a poor version (``poor_version``). Each cycle
  the guard's evidence (serving − uniform random) is gathered as a cycle gathers it, and
  :func:`trainer.promotion.retires` says when it is retired.

With a ``share`` of the exploration budget for the candidate, each cycle's learner is the
candidate of the next cycle's traffic, as a cycle offers it: unless its own evidence (learner −
uniform random, gathered as the guard's) shows it worse than uniform random; then, as a cycle
judges it, the learner is judged as it was offered.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import numpy as np

from policy.experiment import Experiment, PromotionSettings
from policy.learning import LearningSettings
from policy.model import VWModel
from replay.sequence import Evidence
from simulator.offline import (
    arm_lines,
    learn,
    oracle_value,
    population,
    population_mean,
    served_log,
    true_value,
    uniform_log,
    uniform_value,
)
from simulator.shop import Shop
from trainer import promotion
from trainer.join import Example
from trainer.progressive import score_and_learn
from trainer.report import evaluate_cycle

Harm = Literal["permuted", "inverted", "poor_layout"]
HARMS: tuple[Harm, ...] = ("permuted", "inverted", "poor_layout")
Turn = Literal["drift", "poor_version"]
RULES: tuple[promotion.Rule, ...] = ("superiority", "non-inferiority")
TURNS: tuple[Turn, ...] = ("drift", "poor_version")


def experiment(shop: Shop, epsilon: float, given: PromotionSettings | None = None) -> Experiment:
    """The shop's experiment at ``epsilon``, with the ``given`` promotion settings (None: the defaults)."""
    return Experiment.create("shop", factors=shop.config.factors, epsilon=epsilon, promotion=given)


def poor_layout(shop: Shop) -> str:
    """The layout with the lowest mean true reward over the shop's visitors."""
    visitors = population(shop)
    values = [population_mean(visitors, partial(shop.expected_reward, layout=i)) for i in range(len(shop.layouts))]
    return shop.layout_ids[values.index(min(values))]


def corrupt(events: Sequence[Example], harm: Harm, rng: random.Random, poor: str) -> list[Example]:
    """The events with the rewards a harmful learner is taught."""
    if harm == "permuted":
        rewards = [e.reward for e in events]
        rng.shuffle(rewards)
        return [replace(e, reward=r) for e, r in zip(events, rewards)]
    if harm == "inverted":
        return [replace(e, reward=1.0 - e.reward) for e in events]
    return [replace(e, reward=float(e.action == poor)) for e in events]


@dataclass(frozen=True)
class LearnerRun:
    """One harmful learner over ``cycles`` cycles: the first cycle after which each gate
    promoted it (None: never), its true greedy value minus the serving policy's, as a share of
    the oracle, at the end, and the cycles whose traffic gave it a candidate's share."""

    harm: Harm
    seed: int
    superiority: int | None
    non_inferiority: int | None
    point_estimate: int | None
    true_gain: float
    shared: int = 0


def serving_model(shop: Shop, seed: int, step: int) -> VWModel:
    """The good serving policy: the default learner on ``step`` uniform events."""
    model = VWModel.new(LearningSettings(), seed=seed)
    learn(model, shop, uniform_log(shop, step, seed))
    return model


def harmful_learner(
    shop: Shop,
    harm: Harm,
    seed: int,
    *,
    cycles: int = 10,
    step: int = 5000,
    epsilon: float = 0.1,
    against_uniform: bool = False,
    share: float = 0.0,
    given: PromotionSettings | None = None,
) -> LearnerRun:
    """Run a harmful learner of kind ``harm`` against a good serving policy (see the module),
    or, ``against_uniform``, against uniform random before any policy serves (the first cycles
    of an experiment, judged by superiority); ``share`` of the exploration budget serves the
    learner's choice while it is the candidate; ``given``: the promotion settings (None:
    the defaults)."""
    exp = experiment(shop, epsilon, given)
    settings, lines, poor = exp.promotion, arm_lines(shop), poor_layout(shop)
    rng = random.Random(f"{seed}/{harm}")
    serving = serving_model(shop, seed, step)
    served = None if against_uniform else serving.to_bytes()
    start: LearningSettings | bytes = LearningSettings()
    evidence, serving_evidence, candidate_guard = Evidence(), Evidence(), Evidence()
    candidate: VWModel | None = None
    shared = 0
    promoted: dict[str, int | None] = {"superiority": None, "non-inferiority": None, "point estimate": None}
    try:
        for cycle in range(1, cycles + 1):
            shared += candidate is not None
            events = served_log(
                shop,
                None if against_uniform else serving,
                step,
                epsilon,
                seed * 1000 + cycle,
                first=cycle * step,
                candidate=candidate,
                share=share,
            )
            offered = candidate is not None  # the learner continued is the candidate: judged as offered
            learner, scored = score_and_learn(
                start, served, corrupt(events, harm, rng, poor), lines, exp.strategy, as_offered=offered
            )
            learned = start = learner.to_bytes()
            learner.close()
            truth = replace(scored, log=replace(scored.log, reward=np.array([e.reward for e in events], dtype=float)))
            evaluated = evaluate_cycle(exp, truth, "learner", "serving")
            candidate_guard = promotion.gather_harm(candidate_guard, Evidence.of(evaluated.learner - evaluated.uniform))
            candidate = _offered(candidate, learned, candidate_guard, settings, share)
            evidence = (evidence + Evidence.of(evaluated.difference)).looked()
            serving_evidence = serving_evidence + Evidence.of(evaluated.serving)
            value = serving_evidence.mean
            for rule in RULES:
                if promoted[rule] is None and promotion.decide(evidence, rule, value, settings).promoted:
                    promoted[rule] = cycle
            # the point estimate alone, against the threshold of the rule that applies here
            lax = promotion.decide(evidence, "superiority" if against_uniform else "non-inferiority", value, settings)
            if (
                promoted["point estimate"] is None
                and evidence.n >= settings.min_events
                and evidence.mean > lax.threshold
            ):
                promoted["point estimate"] = cycle
        visitors = population(shop)
        learner = VWModel.from_bytes(learned)
        baseline = uniform_value(shop, visitors) if against_uniform else true_value(shop, serving, visitors)
        gain = (true_value(shop, learner, visitors) - baseline) / oracle_value(shop, visitors)
        learner.close()
    finally:
        serving.close()
        if candidate is not None:
            candidate.close()
    return LearnerRun(
        harm, seed, promoted["superiority"], promoted["non-inferiority"], promoted["point estimate"], gain, shared
    )


def _offered(
    current: VWModel | None, learned: bytes, guard: Evidence, settings: PromotionSettings, share: float
) -> VWModel | None:
    """The next cycle's candidate (closing ``current``): the learner just trained, unless there is
    no share or its own evidence shows it worse than uniform random (as a cycle offers it)."""
    if current is not None:
        current.close()
    if share <= 0.0 or promotion.retires(guard, settings):
        return None
    return VWModel.from_bytes(learned)


@dataclass(frozen=True)
class TurnRun:
    """A serving policy that became harmful: the cycle after which the guard retired it (None:
    never, within the run), and its true greedy value and uniform random's, as shares of the
    oracle, while it served."""

    turn: Turn
    seed: int
    retired: int | None
    serving: float
    uniform: float


def harmful_serving(
    shop: Shop,
    turn: Turn,
    seed: int,
    *,
    cycles: int = 6,
    step: int = 5000,
    epsilon: float = 0.1,
    share: float = 0.0,
    given: PromotionSettings | None = None,
) -> TurnRun:
    """Serve a policy that ``drift`` made harmful (trained before the shop's tastes changed) or
    that an operator activated (``poor_version``: taught that only the poorest layout earns),
    and run the guard of every cycle on what it serves (see the module); ``share`` of the
    exploration budget serves each cycle's learner's choice in the next, while it is the
    candidate; ``given``: the promotion settings (None: the defaults)."""
    exp = experiment(shop, epsilon, given)
    if turn == "drift":
        policy, world = serving_model(shop, seed, step), shop.drifted()
    else:
        policy, world = VWModel.new(LearningSettings(), seed=seed), shop
        poor = poor_layout(shop)
        learn(policy, shop, [replace(e, reward=float(e.action == poor)) for e in uniform_log(shop, step, seed)])
    visitors = population(world)
    oracle = oracle_value(world, visitors)
    served, lines = policy.to_bytes(), arm_lines(world)
    guard, retired = Evidence(), None
    candidate: VWModel | None = None
    try:
        value = true_value(world, policy, visitors) / oracle
        for cycle in range(1, cycles + 1):
            seed_of_cycle, first = seed * 1000 + cycle, cycle * step
            events = served_log(world, policy, step, epsilon, seed_of_cycle, first, candidate, share)
            learner, scored = score_and_learn(LearningSettings(), served, events, lines, exp.strategy)
            learned = learner.to_bytes()
            learner.close()
            evaluated = evaluate_cycle(exp, scored, "learner", "serving")
            guard = promotion.gather_harm(guard, Evidence.of(evaluated.serving - evaluated.uniform))
            # each cycle's learner is new here, so its evidence is its own cycle's
            own = promotion.gather_harm(Evidence(), Evidence.of(evaluated.learner - evaluated.uniform))
            candidate = _offered(candidate, learned, own, exp.promotion, share)
            if promotion.retires(guard, exp.promotion):
                retired = cycle
                break
    finally:
        policy.close()
        if candidate is not None:
            candidate.close()
    return TurnRun(turn, seed, retired, value, uniform_value(world, visitors) / oracle)
