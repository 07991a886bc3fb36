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
from html import escape
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy.experiment import Experiment
from policy.learning import LearningSettings
from replay import numbers
from simulator.offline import arm_lines, learning_curve, uniform_log
from simulator.shop import FACTORS, POPULATION, Effect, Shop, ShopConfig
from trainer.search import search

STEP, STEPS = 5000, 10

GENERIC = "VW's generic (-l 0.5, no clip)"
SETTINGS: dict[str, LearningSettings] = {
    "defaults (-l 0.05, clip_p 0.2)": LearningSettings(),
    GENERIC: LearningSettings(learning_rate=0.5, clip_p=0.0),
    "-l 0.05, no clip": LearningSettings(learning_rate=0.05, clip_p=0.0),
    "-l 0.5, clip_p 0.1": LearningSettings(learning_rate=0.5, clip_p=0.1),
    "-l 0.05, clip_p 0.1": LearningSettings(learning_rate=0.05, clip_p=0.1),
    "-l 0.05, clip_p 0.1, dr": LearningSettings(learning_rate=0.05, clip_p=0.1, cb_type="dr"),
    "-l 0.03, clip_p 0.1": LearningSettings(learning_rate=0.03, clip_p=0.1),
    "-l 0.02, clip_p 0.1": LearningSettings(learning_rate=0.02, clip_p=0.1),
    "-l 0.02, clip_p 0.1, UA AA": LearningSettings(learning_rate=0.02, clip_p=0.1, interactions=("UA", "AA")),
    "-l 0.1, clip_p 0.3": LearningSettings(learning_rate=0.1, clip_p=0.3),
}
"""What was measured to choose the defaults (issue 32); each label names how it differs."""


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
    parser.add_argument("--chart", help="write an SVG of the curves of the defaults and VW's generic settings")
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
    if args.chart:
        Path(args.chart).write_text(chart(curves, args.world, args.epsilon))


def chart(curves: list[dict[str, Any]], world: str, epsilon: float) -> str:
    """Every seed's curve of the defaults and of VW's generic settings as a standalone SVG; each
    starts at the serving policy (the first model, which the learner continues)."""
    width, height, pad, left = 720, 360, 40, 70
    shown = [("defaults (-l 0.05, clip_p 0.2)", "#1f77b4"), (GENERIC, "#d62728")]
    values = [v for c in curves if c["setting"] in dict(shown) for v in c["values"]]
    ys = numbers.ticks(min(values), max(values))
    xs = list(range(0, STEP * STEPS + 1, 10_000))

    def x(events: int) -> float:
        return left + events / xs[-1] * (width - left - pad)

    def y(value: float) -> float:
        return height - pad - (value - ys[0]) / (ys[-1] - ys[0]) * (height - 2 * pad - 30)

    parts = [
        f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - pad}" y2="{y(v):.1f}" stroke="#eee"/>'
        f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">'
        f"{numbers.tick_label(v, ys[1] - ys[0])}</text>"
        for v in ys
    ]
    parts += [
        f'<text x="{x(e):.1f}" y="{height - pad + 16}" font-size="11" text-anchor="middle">{e:,}</text>' for e in xs
    ]
    for name, color in shown:
        for c in (c for c in curves if c["setting"] == name):
            points = " ".join(f"{x(STEP * (i + 1)):.1f},{y(v):.1f}" for i, v in enumerate(c["values"]))
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{points}"/>')
    parts += [
        f'<rect x="{left + 10 + 300 * i}" y="12" width="14" height="3" fill="{color}"/>'
        f'<text x="{left + 30 + 300 * i}" y="17" font-size="12">{escape(name)}</text>'
        for i, (name, color) in enumerate(shown)
    ]
    parts.append(
        f'<text x="{(left + width - pad) / 2:.0f}" y="{height - 6}" font-size="12" text-anchor="middle">'
        f"events learned (5,000 uniform, then ε-greedy at ε {epsilon:g} by the first model)</text>"
        f'<text x="14" y="{height / 2:.0f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {height / 2:.0f})">true value ÷ oracle ({escape(world)})</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>\n'
    )


if __name__ == "__main__":
    main()
