"""HTTP request and response bodies. Requests are strict: no extra fields, no type coercion."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from policy.arms import ARM_ID_PATTERN, MAX_ARM_ID_CHARS
from policy.experiment import (
    CANDIDATE_SHARE,
    MAX_STICKY_SECONDS,
    MAX_WINDOW_SECONDS,
    Aggregate,
    Experiment,
    PromotionSettings,
    TrainingSettings,
)
from policy.features import MAX_NAME_CHARS, FeatureValue, check_features, json_type
from policy.learning import CbType
from policy.records import MAX_ABS_REWARD, PolicyRecord
from replay.evaluation import Metric
from trainer.cycle import CycleSummary
from trainer.search import SearchResult

MAX_BATCH = 1000

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
Visitor = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
ArmId = Annotated[str, Field(min_length=1, max_length=MAX_ARM_ID_CHARS, pattern=ARM_ID_PATTERN)]
Token = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^[^=,\x00-\x1f\x7f]+$")]


def _check_features(value: Any, info: ValidationInfo) -> dict[str, FeatureValue]:
    """A flat mapping of names to strings, finite numbers or booleans (the domain's rules,
    :func:`policy.features.check_features`); nothing nested."""
    if not isinstance(value, dict):
        raise ValueError(f"must be an object of features, got {json_type(value)}")
    check_features(value, info.field_name or "features")
    return value


Features = Annotated[dict[str, FeatureValue], BeforeValidator(_check_features)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# experiments -----------------------------------------------------------------------------------


class ArmBody(Request):
    id: ArmId = Field(description="the arm's id, e.g. `hero=big,cta=green`")
    features: Features = Field(
        default_factory=dict, description='the arm\'s features, which the policy learns from (e.g. `{"hero": "big"}`)'
    )
    enabled: bool = Field(True, description="a disabled arm is never returned")


class ArmStateBody(Request):
    enabled: bool = Field(description="false: the arm is never returned (its decisions stay in the log)")


EPSILON_MEANS = "the exploration budget: the share of traffic not given to the serving policy's choice"
CANDIDATE_SHARE_MEANS = (
    "the share of the exploration budget that serves the candidate's choice (the learner the next training cycle "
    "judges); the rest of it is spread uniformly over all arms. 0: all of it is uniform"
)


class ExplorationChange(Request):
    """A change of the exploration settings: the ones given change, the others stay."""

    epsilon: float | None = Field(None, ge=0.0, le=1.0, description=EPSILON_MEANS)
    candidate_share: float | None = Field(None, ge=0.0, le=1.0, description=CANDIDATE_SHARE_MEANS)


class HoldoutBody(Request):
    fraction: float = Field(
        0.0, ge=0.0, le=0.5, description="share of visitors sent to the default arm as a control group"
    )


class ExplorationBody(Request):
    epsilon: float = Field(0.2, ge=0.0, le=1.0, description=EPSILON_MEANS)
    candidate_share: float = Field(CANDIDATE_SHARE, ge=0.0, le=1.0, description=CANDIDATE_SHARE_MEANS)


class RewardBody(Request):
    window_seconds: int = Field(86_400, gt=0, le=MAX_WINDOW_SECONDS, description="attribution window after a decision")
    default: FiniteFloat = Field(0.0, description="reward of a decision with no reward event in its window")
    aggregate: Aggregate = Field("sum", description="how several reward events of one decision combine")


TRAINING = TrainingSettings().to_dict()
"""The domain's defaults, which the request bodies below repeat as their own."""
VW, SEARCH = TRAINING["vw"], TRAINING["search"]


class VWBody(Request):
    """VW learning options (ranges are checked by the domain and reported as 422)."""

    cb_type: CbType = Field(VW["cb_type"], description="cost estimator: ips, dr or mtr")
    interactions: list[str] = Field(
        VW["interactions"], max_length=6, description="namespace products: U context, A arm"
    )
    learning_rate: float = Field(VW["learning_rate"], description="VW -l, in [1e-6, 10]")
    power_t: float = Field(VW["power_t"], description="VW --power_t, in [0, 1]")
    l2: float = Field(VW["l2"], description="VW --l2, in [0, 1]")
    clip_p: float = Field(
        VW["clip_p"], description="VW --clip_p: logged probabilities count as at least this, in [0, 0.5]"
    )
    bit_precision: int = Field(VW["bit_precision"], description="VW -b, in [12, 24]")
    passes: int = Field(VW["passes"], description="passes over the data, 1 to 20")


class SearchBody(Request):
    """Policy search: each cycle tries the last chosen settings, the configured ``vw`` and every
    setting one option away from the former, scores them on later training events held out in
    time, and trains the candidate with the best (the starting one unless another is better with
    confidence) (ranges are checked by the domain and reported as
    422)."""

    enabled: bool = Field(
        SEARCH["enabled"], description="search each cycle; off: the candidate uses `vw` as configured"
    )
    learning_rates: list[float] = Field(
        SEARCH["learning_rates"], min_length=1, max_length=10, description="learning rates tried"
    )
    cb_types: list[CbType] = Field(SEARCH["cb_types"], min_length=1, max_length=3, description="cost estimators tried")
    interactions: list[list[str]] = Field(
        SEARCH["interactions"], min_length=1, max_length=10, description="interaction sets tried"
    )
    l2: list[float] = Field(SEARCH["l2"], min_length=1, max_length=10, description="L2 penalties tried")
    clip_p: list[float] = Field(SEARCH["clip_p"], min_length=1, max_length=10, description="probability clips tried")
    passes: list[int] = Field(SEARCH["passes"], min_length=1, max_length=10, description="numbers of passes tried")
    folds: int = Field(
        SEARCH["folds"],
        description="blocks in time: each setting is trained on the blocks before each later block "
        "and scored on it; 2 to 10",
    )
    max_events: int = Field(SEARCH["max_events"], description="training examples sampled to train each setting")
    budget_seconds: float = Field(
        SEARCH["budget_seconds"], description="settings not started within this time are skipped"
    )


class TrainingBody(Request):
    interval_seconds: int = Field(TRAINING["interval_seconds"], gt=0, description="how often a training cycle runs")
    min_events: int = Field(TRAINING["min_events"], ge=1, description="examples a new learner needs")
    lookback_seconds: int = Field(
        TRAINING["lookback_seconds"], description="history a new learner is trained on, 60 s to a year"
    )
    vw: VWBody = Field(default_factory=VWBody, description="the learning settings of a new learner")
    search: SearchBody = Field(default_factory=SearchBody, description="the policy search")


class PromotionBody(Request):
    """The promotion rule (trainer/promotion.py; ranges are checked by the domain and reported
    as 422)."""

    metric: Metric = Field(
        PromotionSettings.metric, description="estimator of each event's paired difference: ips, snips or dr"
    )
    confidence: float = Field(
        PromotionSettings.confidence,
        description="level of the interval of learner − serving, valid however many cycles look at it, in [0.5, 0.999]",
    )
    min_improvement: float = Field(
        0.0, description="superiority: the lower bound of learner − serving must exceed this for new settings"
    )
    min_events: int = Field(
        PromotionSettings.min_events,
        description="events scored before any promotion (each by a version that had not learned it)",
    )
    margin: float = Field(
        PromotionSettings.margin,
        description="non-inferiority margin of a continuing update: promoted unless replay shows it worse than "
        "this share of the serving value, in [0, 0.5]",
    )


class ExperimentBody(Request):
    """An experiment declares either ``arms`` or ``factors`` (arms = all level combinations)."""

    arms: list[ArmBody] | None = Field(
        None, min_length=1, max_length=1000, description="the arms, listed (give this or `factors`)"
    )
    factors: dict[Token, list[Token]] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="factors and their levels: the arms are all combinations (give this or `arms`)",
    )
    exclude: list[dict[Token, Token]] = Field(
        default_factory=list, max_length=1000, description="combinations of factor levels that are not arms"
    )
    default_arm: ArmId | None = Field(
        None,
        description="the arm shown when paused, to the holdout group and by a page that times out; default: the first",
    )
    exploration: ExplorationBody = Field(default_factory=ExplorationBody, description="how much traffic explores")
    reward: RewardBody = Field(default_factory=RewardBody, description="how rewards are attributed to decisions")
    training: TrainingBody = Field(default_factory=TrainingBody, description="how and when policies are trained")
    promotion: PromotionBody = Field(
        default_factory=PromotionBody, description="when a trained policy replaces the serving one"
    )
    holdout: HoldoutBody = Field(default_factory=HoldoutBody, description="a control group shown the default arm")
    sticky_seconds: float = Field(
        0.0,
        ge=0.0,
        le=MAX_STICKY_SECONDS,
        description="a decision that names a `visitor` is given back to that visitor for this long (0: off)",
    )


class ArmOut(BaseModel):
    id: str = Field(description="the arm's id")
    features: dict[str, FeatureValue] = Field(description="the arm's features")
    enabled: bool = Field(description="false: the arm is never returned")


class ExperimentOut(BaseModel):
    id: str = Field(description="the experiment's id")
    revision: int = Field(description="counts changes of the definition; send it as If-Match to change it safely")
    arms: list[ArmOut] = Field(description="the arms")
    factors: dict[str, list[str]] | None = Field(
        description="factors and their levels, when the arms were declared by factors"
    )
    exclude: list[dict[str, str]] = Field(description="excluded combinations of factor levels")
    default_arm: str = Field(
        description="the arm shown when paused, to the holdout group, and by a page that times out"
    )
    exploration: ExplorationBody = Field(description="how much traffic explores")
    reward: RewardBody = Field(description="how rewards are attributed to decisions")
    training: TrainingBody = Field(description="how and when policies are trained")
    promotion: PromotionBody = Field(description="when a trained policy replaces the serving one")
    holdout: HoldoutBody = Field(description="the control group")
    sticky_seconds: float = Field(description="how long a visitor keeps a decision (0: off)")
    active_policy: int | None = Field(description="the version of the serving policy (null: none, uniform random)")
    candidate_policy: int | None = Field(
        description="the learner that gets `exploration.candidate_share` of the exploration budget (null: none)"
    )
    paused: bool = Field(description="true: every visitor gets the default arm")

    @classmethod
    def of(cls, e: Experiment) -> ExperimentOut:
        return cls(
            id=e.id,
            revision=e.revision,
            arms=[ArmOut(id=a.id, features=dict(a.features), enabled=a.enabled) for a in e.arms],
            factors=None if e.factors is None else {k: list(v) for k, v in e.factors.items()},
            exclude=[dict(x) for x in e.exclude],
            default_arm=e.default_arm,
            exploration=ExplorationBody(epsilon=e.epsilon, candidate_share=e.candidate_share),
            reward=RewardBody.model_validate(asdict(e.reward)),
            training=TrainingBody.model_validate(e.training.to_dict()),
            promotion=PromotionBody.model_validate(asdict(e.promotion)),
            holdout=HoldoutBody(fraction=e.holdout),
            sticky_seconds=e.sticky_seconds,
            active_policy=e.active_policy,
            candidate_policy=e.candidate_policy,
            paused=e.paused,
        )


# decisions -------------------------------------------------------------------------------------


class DecisionBody(Request):
    experiment: Id = Field(description="the experiment's id")
    context: Features = Field(default_factory=dict, description="visitor features: strings, numbers, booleans")
    actions: list[ArmId] | None = Field(None, min_length=1, max_length=1000, description="restrict the eligible arms")
    event_id: Id | None = Field(None, description="client-chosen id; a retry with the same id gets the same answer")
    explore: bool = Field(True, description="false: the greedy arm (epsilon 0), logged with its exact probability")
    defer_activation: bool = Field(False, description="the layout may never be seen; activate it when it is")
    visitor: Visitor | None = Field(
        None, description="an opaque visitor id: with the experiment's `sticky_seconds`, the visitor's decision is kept"
    )


class DecisionOut(BaseModel):
    event_id: str = Field(description="the decision's id: send it with the rewards it earns")
    experiment: str = Field(description="the experiment's id")
    action: str = Field(description="the arm to show")
    probability: float = Field(description="the exact probability with which the arm was drawn (logged)")
    policy_version: int = Field(description="the policy version that decided (0: none yet, uniform random)")
    explored: bool = Field(description="true: the arm is not one the policy ranks first")


class ActivationOut(BaseModel):
    event_id: str = Field(description="the decision's id")
    duplicate: bool = Field(description="true: it was already activated (nothing changed)")


# rewards ---------------------------------------------------------------------------------------


class RewardEventBody(Request):
    event_id: Id = Field(description="the decision's `event_id`")
    reward: FiniteFloat = Field(
        ge=-MAX_ABS_REWARD,
        le=MAX_ABS_REWARD,
        description="the reward: 1 for a click, an order's value; finite, |reward| ≤ 1e9",
    )
    reward_id: Id | None = Field(None, description="distinguishes several rewards of one decision; default: one reward")


def _as_batch(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


RewardsBody = Annotated[
    list[RewardEventBody],
    BeforeValidator(_as_batch),
    Field(min_length=1, max_length=MAX_BATCH, description="one reward event, or a list of them"),
]


class RewardsOut(BaseModel):
    accepted: int = Field(description="reward events queued; repeats of stored ones are stored once")


# policies and training -------------------------------------------------------------------------


class PolicyOut(BaseModel):
    experiment: str = Field(description="the experiment")
    version: int = Field(description="the policy's version")
    status: str = Field(description="`active`, `candidate`, `rejected`, `retired` or `inactive`")
    reason: str = Field(description="why it has its status, in words")
    vw_args: str = Field(description="the VW options it was trained with")
    learning: dict[str, Any] = Field(description="its learning settings, as in `training.vw`")
    data_from: datetime | None = Field(
        description="start of the decisions it learned in its cycle (null: from the first)"
    )
    data_to: datetime | None = Field(description="end of the decisions it learned")
    examples: int = Field(description="decisions it learned in its cycle")
    join: dict[str, Any] = Field(description="counts of what its cycle's join saw")
    trained_at: datetime = Field(description="when its cycle ran")
    train_seconds: float = Field(description="seconds its cycle took")
    metrics: dict[str, Any] | None = Field(description="its cycle's plan, evidence and comparison")

    @classmethod
    def of(cls, p: PolicyRecord) -> PolicyOut:
        return cls.model_validate(asdict(p))


class CycleOut(BaseModel):
    experiment: str = Field(description="the experiment trained")
    status: str = Field(
        description="`active` (the learner was promoted), `rejected` (it was not; it keeps learning) or `skipped`"
    )
    reason: str = Field(description="why, in words: the rule, the estimate and its interval")
    version: int | None = Field(description="the learner's registered version; null when skipped")
    join: dict[str, Any] = Field(description="counts of what the join of decisions and rewards saw")
    train_seconds: float = Field(description="seconds the cycle took")
    mode: Literal["continued", "new"] | None = Field(description="continued the learner, or started a new one")
    events: int = Field(
        description="decisions learned, each scored by a version that had not learned it (trainer/progressive.py)"
    )

    @classmethod
    def of(cls, c: CycleSummary) -> CycleOut:
        return cls.model_validate(asdict(c))


class EstimateOut(BaseModel):
    value: float = Field(description="the estimated reward per visitor")
    low: float = Field(description="lower bound of its confidence interval")
    high: float = Field(description="upper bound of its confidence interval")


class TrialOut(BaseModel):
    learning: VWBody = Field(description="the setting tried")
    vw_args: str = Field(description="its VW options")
    passes: int = Field(description="its passes over the data")
    seconds: float = Field(description="seconds it took")
    chosen: bool = Field(description="true for the setting chosen")
    estimate: EstimateOut | None = Field(description="estimate on later events; null when skipped by the time budget")
    status: str = Field(description="`chosen`, `tried` or `skipped: time budget`")


class SearchOut(BaseModel):
    """A policy search: every setting tried with its estimate on later events, and the one chosen."""

    metric: str = Field(description="the estimator that scored the settings")
    method: str = Field(description="how the settings were scored, in words")
    seconds: float = Field(description="seconds the search took")
    events: int = Field(description="sampled events it scored on")
    folds: int = Field(description="blocks in time")
    chosen: VWBody = Field(description="the settings chosen")
    trials: list[TrialOut] = Field(description="every setting tried")

    @classmethod
    def of(cls, result: SearchResult) -> SearchOut:
        return cls.model_validate(result.as_dict())
