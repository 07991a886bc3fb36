"""An experiment: the arms a page chooses between, how it explores and how rewards are attributed.

These are plain, validated values shared by the service, the trainer and the replay; they do not
know how they are stored or transported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, get_args

from policy.arms import Arm, expand_factors
from policy.checks import check_int, check_range
from policy.exploration import EpsilonGreedy
from policy.features import arm_line
from policy.learning import LearningSettings, SearchSettings
from policy.records import MAX_ABS_REWARD
from replay.evaluation import METRICS, Metric

Aggregate = Literal["sum", "mean", "max", "min", "first", "last"]
AGGREGATES: tuple[Aggregate, ...] = get_args(Aggregate)
MAX_WINDOW_SECONDS = 90 * 86_400
"""The longest attribution window: 90 days."""
MAX_INTERVAL_SECONDS = 366 * 86_400
"""The longest time between training cycles: a year."""
MAX_LOOKBACK_SECONDS = 366 * 86_400
"""The longest history a new learner is trained on: a year."""
MAX_EVENTS = 10**9
"""The most events a training or promotion threshold may ask for."""
EXPERIMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class RewardSettings:
    """How reward events become a decision's reward.

    A decision's reward is ``aggregate`` over the reward events that arrive within
    ``window_seconds`` of the decision; a decision with none gets ``default`` once its window
    has closed.
    """

    window_seconds: int = 86_400
    default: float = 0.0
    aggregate: Aggregate = "sum"

    def __post_init__(self) -> None:
        check_int("reward.window_seconds", self.window_seconds, 1, MAX_WINDOW_SECONDS)
        check_range("reward.default", self.default, -MAX_ABS_REWARD, MAX_ABS_REWARD)
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"`reward.aggregate` must be one of {', '.join(AGGREGATES)}, got {self.aggregate!r}")


@dataclass(frozen=True)
class TrainingSettings:
    """When the trainer trains the experiment's learner, and how VW learns.

    A cycle runs every ``interval_seconds``. It continues the learner on the decisions whose
    attribution windows closed since its data ended; a new learner (the first, or after ``vw``
    changed) is trained from scratch on the last ``lookback_seconds`` of closed-window
    decisions, once they hold at least ``min_events``. ``vw`` are the configured learning
    settings; with ``search.enabled`` a new learner takes the best settings found around them
    (see :class:`SearchSettings`).
    """

    interval_seconds: int = 3600
    min_events: int = 1000
    lookback_seconds: int = 14 * 86_400
    vw: LearningSettings = field(default_factory=LearningSettings)
    search: SearchSettings = field(default_factory=SearchSettings)

    def __post_init__(self) -> None:
        check_int("training.interval_seconds", self.interval_seconds, 1, MAX_INTERVAL_SECONDS)
        check_int("training.min_events", self.min_events, 1, MAX_EVENTS)
        check_int("training.lookback_seconds", self.lookback_seconds, 60, MAX_LOOKBACK_SECONDS)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible document (lists, not tuples) that :meth:`from_dict` reads back."""
        doc: dict[str, Any] = _lists(asdict(self))
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainingSettings:
        """Settings from a document; missing parts take their defaults.

        Raises
        ------
        ValueError
            If any value is invalid (the message names the part).
        """
        try:
            vw = LearningSettings(**doc.get("vw", {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"training.vw: {exc}") from exc
        try:
            search = SearchSettings(**doc.get("search", {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"training.search: {exc}") from exc
        return cls(**{k: v for k, v in doc.items() if k not in ("vw", "search")}, vw=vw, search=search)


def _lists(value: Any) -> Any:
    """``value`` with every tuple, in any nesting, turned into a list."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


@dataclass(frozen=True)
class PromotionSettings:
    """When the learner replaces the serving policy (the rule and its guarantee:
    :mod:`trainer.promotion`).

    ``metric`` estimates each event's paired difference (learner − serving); ``confidence`` is
    the level of the interval of their running mean, valid however many cycles look at it. A learner of new
    settings must show that mean above ``min_improvement`` (superiority); the serving policy's
    own lineage, continued on newer data, must not be worse than ``margin`` times the serving
    value (non-inferiority). Either needs ``min_events`` scored events.

    The defaults (confidence 0.95, margin 0.05) were chosen on the simulated shop's learning
    table (``bench/learning.py``), with the risks measured by ``bench/false_promotion.py``:
    BENCHMARKS.md, issue 36.
    """

    metric: Metric = "dr"
    confidence: float = 0.95
    min_improvement: float = 0.0
    min_events: int = 500
    margin: float = 0.05

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"`promotion.metric` must be one of {', '.join(METRICS)}, got {self.metric!r}")
        check_range("promotion.confidence", self.confidence, 0.5, 0.999)
        check_range("promotion.min_improvement", self.min_improvement, -MAX_ABS_REWARD, MAX_ABS_REWARD)
        check_int("promotion.min_events", self.min_events, 1, MAX_EVENTS)
        check_range("promotion.margin", self.margin, 0.0, 0.5)


CANDIDATE_SHARE = 0.5
"""The default share of the exploration budget that serves the candidate's greedy choice."""

MAX_STICKY_SECONDS = 30 * 86_400.0
"""The longest a visitor keeps a decision: 30 days."""


@dataclass(frozen=True)
class Experiment:
    """A validated experiment definition.

    Either ``arms`` are listed, or ``factors`` (with optional ``exclude``) declare them as all
    combinations of factor levels; :meth:`create` takes care of the expansion. ``epsilon`` is
    the exploration budget, ``candidate_share`` the share of it that serves the candidate's
    greedy choice (:func:`policy.decision.choose_action`). ``holdout`` is the share of visitors
    sent to the default arm as a control group. ``revision`` counts changes of the definition;
    ``active_policy`` is the version of the policy serving it (None before the first is
    trained); ``candidate_policy`` the learner that gets ``candidate_share`` (None: none, see
    ``Store.offer_candidate``); ``paused`` sends every visitor to the default arm. The last four
    are operator and trainer state, not set by the definition's author. With ``sticky_seconds`` a decision that
    names a visitor is that visitor's for so long: the same visitor gets it back (see
    ``Runtime.decide``); 0 turns stickiness off.
    """

    id: str
    arms: tuple[Arm, ...]
    default_arm: str
    epsilon: float = 0.2
    reward: RewardSettings = field(default_factory=RewardSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    promotion: PromotionSettings = field(default_factory=PromotionSettings)
    factors: Mapping[str, tuple[str, ...]] | None = None
    exclude: tuple[Mapping[str, str], ...] = ()
    revision: int = 1
    active_policy: int | None = None
    paused: bool = False
    holdout: float = 0.0
    sticky_seconds: float = 0.0
    candidate_share: float = CANDIDATE_SHARE
    candidate_policy: int | None = None

    def __post_init__(self) -> None:
        if not EXPERIMENT_ID.match(self.id):
            raise ValueError(
                f"`id` must be 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit, got {self.id!r}"
            )
        if not self.arms:
            raise ValueError("`arms` must list at least one arm")
        ids = [arm.id for arm in self.arms]
        if len(set(ids)) != len(ids):
            raise ValueError("`arms` lists an arm id twice")
        if self.default_arm not in ids:
            raise ValueError(f"`default_arm` must be one of the arms, got {self.default_arm!r}")
        if not self.arms[ids.index(self.default_arm)].enabled:
            raise ValueError(f"the default arm `{self.default_arm}` cannot be disabled")
        check_range("holdout.fraction", self.holdout, 0.0, 0.5)
        check_range("sticky_seconds", self.sticky_seconds, 0.0, MAX_STICKY_SECONDS)
        EpsilonGreedy(self.epsilon)  # validates epsilon
        check_range("exploration.candidate_share", self.candidate_share, 0.0, 1.0)
        if self.factors is not None:
            object.__setattr__(self, "factors", MappingProxyType({k: tuple(v) for k, v in self.factors.items()}))
        object.__setattr__(self, "exclude", tuple(MappingProxyType(dict(e)) for e in self.exclude))

    @classmethod
    def create(
        cls,
        id: str,
        *,
        arms: Sequence[Arm] | None = None,
        factors: Mapping[str, Sequence[str]] | None = None,
        exclude: Sequence[Mapping[str, str]] = (),
        default_arm: str | None = None,
        epsilon: float = 0.2,
        candidate_share: float = CANDIDATE_SHARE,
        reward: RewardSettings | None = None,
        training: TrainingSettings | None = None,
        promotion: PromotionSettings | None = None,
        holdout: float = 0.0,
        sticky_seconds: float = 0.0,
        revision: int = 1,
    ) -> Experiment:
        """Build an experiment from either ``arms`` or ``factors``; ``default_arm`` defaults to
        the first arm.

        Raises
        ------
        ValueError
            If both or neither of ``arms`` and ``factors`` are given, or any part is invalid.
        """
        if arms is not None and factors is not None:
            raise ValueError("give exactly one of `arms` and `factors`")
        if arms is not None:
            if exclude:
                raise ValueError("`exclude` applies to `factors` only")
            expanded = tuple(arms)
        elif factors is not None:
            expanded = tuple(expand_factors(factors, exclude))
        else:
            raise ValueError("give exactly one of `arms` and `factors`")
        if not expanded:
            raise ValueError("`arms` must list at least one arm")
        return cls(
            id=id,
            arms=expanded,
            default_arm=default_arm if default_arm is not None else expanded[0].id,
            epsilon=epsilon,
            candidate_share=candidate_share,
            reward=reward or RewardSettings(),
            training=training or TrainingSettings(),
            promotion=promotion or PromotionSettings(),
            holdout=holdout,
            sticky_seconds=sticky_seconds,
            factors=None if factors is None else {k: tuple(v) for k, v in factors.items()},
            exclude=tuple(exclude),
            revision=revision,
        )

    @cached_property
    def arm_ids(self) -> tuple[str, ...]:
        return tuple(arm.id for arm in self.arms)

    @cached_property
    def enabled_arm_ids(self) -> tuple[str, ...]:
        return tuple(arm.id for arm in self.arms if arm.enabled)

    @cached_property
    def arm_lines(self) -> Mapping[str, str]:
        """The VW line of every arm, by arm id."""
        return MappingProxyType({arm.id: arm_line(arm.id, arm.features) for arm in self.arms})

    @cached_property
    def strategy(self) -> EpsilonGreedy:
        """The exploration strategy decisions use."""
        return EpsilonGreedy(self.epsilon)
