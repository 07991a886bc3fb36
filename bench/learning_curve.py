"""Learning curves on the service's own logs, offline: does a learner get better with more data?

    python bench/learning_curve.py [--seeds 1 2 3 4 5] [--epsilon 0.1] [--world shop|variant]

For each seed and each learning setting: 5,000 visitors are shown uniformly random layouts and
a model of that setting learns them (the first cycle's new learner); it then serves with
epsilon-greedy exploration while the same model goes on learning, as each continuing cycle
does, for 45,000 more visitors, logged with the exact probabilities they were drawn with. After
every 5,000 events the learner's greedy policy is valued exactly over every visitor context the
shop draws (:func:`simulator.offline.population`), as a share of the oracle; the serving model
(the one that learned the first 5,000) stays beside it. ``--world variant`` runs the same on a
shop that was not used to choose the settings: 24 layouts (a fourth factor) and other tastes.
Writes every curve to ``bench/results/learning_curve-<world>.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy.experiment import Experiment
from policy.learning import LearningSettings
from simulator.offline import arm_lines, learning_curve, uniform_log
from simulator.shop import FACTORS, POPULATION, Effect, Shop, ShopConfig
from trainer.search import search

STEP, STEPS = 5000, 10

SETTINGS: dict[str, LearningSettings] = {
    "VW's generic (-l 0.5)": LearningSettings(learning_rate=0.5, clip_p=0.0),
    "-l 0.05": LearningSettings(learning_rate=0.05, clip_p=0.0),
    "clip_p 0.1": LearningSettings(learning_rate=0.5, clip_p=0.1),
    "-l 0.05, clip_p 0.1": LearningSettings(learning_rate=0.05, clip_p=0.1),
    "-l 0.05, clip_p 0.1, dr": LearningSettings(learning_rate=0.05, clip_p=0.1, cb_type="dr"),
    "-l 0.02, clip_p 0.1": LearningSettings(learning_rate=0.02, clip_p=0.1),
    "-l 0.03, clip_p 0.1": LearningSettings(learning_rate=0.03, clip_p=0.1),
    "-l 0.02, clip_p 0.1, UA AA": LearningSettings(learning_rate=0.02, clip_p=0.1, interactions=("UA", "AA")),
    "-l 0.05, clip_p 0.2": LearningSettings(learning_rate=0.05, clip_p=0.2),
    "-l 0.1, clip_p 0.3": LearningSettings(learning_rate=0.1, clip_p=0.3),
}


SEARCH = "the search's choice"
"""The settings the first cycle's search chooses, from the defaults, on the same first events."""


def variant() -> Shop:
    """A shop not used to choose the settings: a fourth factor (24 layouts), and main effects
    and context-by-factor tastes drawn at random."""
    rng = random.Random("variant")
    factors = {**FACTORS, "image": ["photo", "drawing"]}
    effects = [Effect(rng.gauss(0, 0.2), {name: level}) for name, levels in factors.items() for level in levels[1:]]
    for feature, values in POPULATION.items():
        for value in values:
            factor = rng.choice(list(factors))
            effects.append(Effect(rng.gauss(0, 0.7), {feature: value, factor: rng.choice(factors[factor])}))
    return Shop(ShopConfig(factors=factors, effects=tuple(effects), base_logit=-2.3))


WORLDS = {"shop": Shop, "variant": variant}


def searched(shop: Shop, seed: int) -> LearningSettings:
    """What the first cycle's policy search chooses on the first ``STEP`` uniform events,
    starting from the default settings."""
    experiment = Experiment.create("shop", factors=shop.config.factors)
    return search(experiment, experiment.training.vw, uniform_log(shop, STEP, seed), arm_lines(shop), seed=seed).chosen


def curve(job: tuple[str, str, int, float]) -> dict[str, Any]:
    """One seed's learning curve of one setting."""
    world, name, seed, epsilon = job
    shop = WORLDS[world]()
    settings = searched(shop, seed) if name == SEARCH else SETTINGS[name]
    values = learning_curve(shop, settings, seed=seed, epsilon=epsilon, steps=STEPS, step=STEP)
    return {
        "world": world,
        "setting": name,
        "seed": seed,
        "values": values,
        "serving": values[0],
        "vw_args": settings.vw_args(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--world", choices=sorted(WORLDS), default="shop")
    parser.add_argument("--settings", nargs="+", choices=[*SETTINGS, SEARCH], default=list(SETTINGS))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [(args.world, name, seed, args.epsilon) for name in args.settings for seed in args.seeds]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        curves = pool.map(curve, jobs, chunksize=1)
    print(f"world {args.world}, ε {args.epsilon:g}: learner's true value ÷ oracle after 5k … 50k events\n")
    for name in args.settings:
        mine = [c for c in curves if c["setting"] == name]
        print(f"{name}:")
        for c in mine:
            drop = max(a - b for a, b in zip(c["values"], c["values"][1:]))
            print(f"  seed {c['seed']}: " + " ".join(f"{v:.3f}" for v in c["values"]) + f"  (largest fall {drop:+.3f})")
            if name == SEARCH:
                print(f"    chose {c['vw_args']}")
        finals = [c["values"][-1] for c in mine]
        worse = sum(c["values"][-1] < c["serving"] for c in mine)
        print(
            f"  final mean {statistics.fmean(finals):.3f}, min {min(finals):.3f}; "
            f"worse than its serving policy in {worse} of {len(mine)}\n"
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"learning_curve-{args.world}.json").write_text(json.dumps(curves, indent=2))


if __name__ == "__main__":
    main()
