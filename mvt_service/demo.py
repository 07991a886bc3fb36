"""The demo experiment `home`, seeded on the embedded store so a newcomer can call it at once."""

from __future__ import annotations

from policy.experiment import Experiment, RewardSettings


def demo_experiment() -> Experiment:
    """A home page with three factors: 2 heroes x 3 call-to-action colours x 2 headlines."""
    return Experiment.create(
        "home",
        factors={
            "hero": ["big", "small"],
            "cta": ["green", "blue", "orange"],
            "headline": ["value", "urgency"],
        },
        default_arm="hero=big,cta=green,headline=value",
        epsilon=0.2,
        reward=RewardSettings(window_seconds=3600, default=0.0, aggregate="sum"),
    )
