r"""The promotion rule: when the learner replaces the serving policy, and what that guarantees.

Every event a cycle trains on is also scored, by the learner as it is judged and by the
serving policy (both with the experiment's exploration; :mod:`trainer.progressive`), so every
event both trains and tests. The paired per-event difference :math:`d_i` of their estimated rewards (by
``promotion.metric``) accumulates, cycle after cycle, in :class:`replay.sequence.Evidence`, and
each cycle is one *look* at its running mean :math:`\bar d`, with an interval whose error
budget is spent over the looks (:mod:`replay.sequence`: half at the first look):

- **Superiority** (a learner of new settings, or the first policy against uniform random):
  promoted once the look's lower bound exceeds ``promotion.min_improvement``.
- **Non-inferiority** (the serving policy's own lineage, continued on newer data): promoted once
  the lower bound exceeds :math:`-m\,|\hat V|`, with ``m = promotion.margin`` and
  :math:`\hat V` the serving policy's estimated value on the same events: it is not worse by
  more than that share.

Either way at least ``promotion.min_events`` events must have been scored.

**The candidate as it was shown.** A comparison's evidence starts anew when a learner is
promoted (it is then compared with itself), when a new lineage starts, or when something else
serves than it was gathered against. A new learner's events are scored cross-fitted
(:mod:`trainer.progressive`), by learners of its settings trained on the other folds, so its
first look judges a trained learner, not one still learning. A continued learner is judged as
the candidate, as it was offered, on the events served while its choices had the candidate's
share of the exploration; the version promoted is that candidate, the one the last look
judged.

**Guarantee.** If the running mean of :math:`d` stays below the threshold at every look (a worse
learner), the probability that it is *ever* promoted, however many cycles look at the evidence,
is at most :math:`(1 - c)/2` at ``promotion.confidence`` :math:`c` (the union bound over the
looks' levels, each normal, so asymptotically in the number of events). It holds per
comparison: the evidence starts anew, with a fresh budget, in the cases above. For a new
learner's first cycle, "the learner" is the learners trained on four fifths of its events that
scored them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from policy.experiment import PromotionSettings
from replay.sequence import Evidence

Rule = Literal["superiority", "non-inferiority"]


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    reason: str
    rule: Rule
    low: float
    high: float
    threshold: float


def gather_harm(guard: Evidence, harm: Evidence) -> Evidence:
    """The guard's evidence after a cycle whose serving − uniform random terms are ``harm``:
    it gathers over consecutive cycles that point to harm (a negative mean) and starts anew
    after one that does not, so that a change of tastes is judged on its own events, not
    diluted by the good cycles before it. Each cycle is a look. The price: the error rate holds
    per such stretch, not over the experiment's life."""
    return (guard + harm).looked() if harm.mean < 0 else Evidence()


def retires(guard: Evidence, settings: PromotionSettings) -> bool:
    """Whether the serving policy's own evidence shows it worse than uniform random: the upper
    bound of serving − uniform below zero, on at least ``promotion.min_events`` events."""
    return guard.n >= settings.min_events and guard.bounds(settings.confidence)[1] < 0


def decide(
    evidence: Evidence, rule: Rule, serving_value: float, settings: PromotionSettings, judged: str = "learner"
) -> Verdict:
    """Apply the rule (see the module) to the accumulated paired differences (``judged``, the
    version judged, − serving), at their latest look (:meth:`replay.sequence.Evidence.looked`)."""
    low, high = evidence.bounds(settings.confidence)
    if rule == "superiority":
        threshold = settings.min_improvement
        wanted = f"the lower bound exceeds min_improvement {threshold:g}"
    else:
        threshold = -settings.margin * abs(serving_value)
        wanted = f"the lower bound exceeds −{settings.margin:g} × the serving value ({threshold:+.4g})"
    interval = (
        f"{judged} − serving = {evidence.mean:+.4g} [{low:+.4g}, {high:+.4g}] by {settings.metric.upper()} at "
        f"{settings.confidence:.0%} (look {evidence.looks}, valid however many cycles look) over {evidence.n:,} events"
    )
    if evidence.n < settings.min_events:
        reason = f"{rule}: only {evidence.n:,} events scored so far; promotion.min_events is {settings.min_events:,}"
        return Verdict(False, reason, rule, low, high, threshold)
    promoted = low > threshold
    verdict = wanted if promoted else wanted.replace("exceeds", "does not exceed", 1)
    return Verdict(promoted, f"{rule}: {interval}: {verdict}", rule, low, high, threshold)
