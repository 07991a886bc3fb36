"""The learning table: how well the service learns on the simulated shop, seed by seed.

    python bench/learning.py [--visitors 50000] [--epsilon 0.1] [--candidate-share S] [--margin M] [--confidence C]
                             [--world shop|variant] [--jobs 2]

Runs ``mvt simulate --visitors 50000 --epsilon 0.1 --seed S`` for seeds 1–5, and seed 6 with
``--drift-at 25000`` (the visitors' tastes change half way), each on its own embedded service
on simulated time, so every figure is fixed by the seed (only the run times depend on the
machine): ``--jobs`` runs side by side change nothing but the time. Prints one row per run:
the final greedy policy's share of the oracle, the visitors served's share of the oracle
(after the change of tastes, for the drift run), the visitors after which a learner was
promoted, learners promoted and rejected, the promotions after which what served was truly worse
(by how much, as a share of the oracle), and replay honesty (cycles whose replay interval held
the served policy's true value). ``--candidate-share`` sets the experiment's (default: the
service's), as ``--margin`` and ``--confidence`` set its promotion rule's; ``--world variant``
runs a shop not used to choose any setting (``bench/learning_curve.py``). Writes every run's figures to
``bench/results/learning[-variant][-share-S][-margin-M][-confidence-C].json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.learning_curve import WORLDS
from mvt_service.cli.simulating import service
from mvt_service.settings import Settings
from simulator.run import SimulationResult, simulate

RUNS: list[tuple[int, int | None]] = [(1, None), (2, None), (3, None), (4, None), (5, None), (6, 25_000)]
"""(seed, visitor at which tastes change) of each row."""


def run(job: tuple[int, int | None, int, float, float | None, int, str, dict[str, float]]) -> dict[str, Any]:
    """One simulation on an embedded service, as ``mvt simulate`` runs it."""
    seed, drift_at, visitors, epsilon, candidate_share, train_every, world, promotion = job
    with service(None, Settings(), seed) as (api, timeline):
        result = simulate(
            api,
            WORLDS[world](),
            visitors=visitors,
            train_every=train_every,
            epsilon=epsilon,
            candidate_share=candidate_share,
            promotion=promotion,
            seed=seed,
            drift_at=drift_at,
            timeline=timeline,
        )
    return {"seed": seed, **result.as_dict(), "row": row(seed, result)}


def row(seed: int, result: SimulationResult) -> str:
    promoted, rejected = result.promotions
    covered, checked = result.replay_coverage
    served = f"{result.served_share:.1%}"
    if result.served_share_after_drift is not None:
        served += f" ({result.served_share_after_drift:.1%} after the change)"
    promoted_at = ", ".join(f"{v:,}" for v in result.promoted_at) or "never"
    drops = result.worsening_promotions
    worse = f"{len(drops)} (by up to {max(drops):.1%})" if drops else "0"
    return (
        f"| {seed}{f' (tastes change at {result.drift_at:,})' if result.drift_at else ''} "
        f"| {result.final['fraction_of_oracle']:.1%} | {served} "
        f"| {promoted_at} | {promoted} / {rejected} | {worse} "
        f"| {covered} of {checked} | {result.seconds:.0f} s |"
    )


HEADER = (
    "| seed | final greedy ÷ oracle | served ÷ oracle | promoted after visitor | promoted / rejected "
    "| promotions that lowered the true value | replay held the truth | run |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--candidate-share", type=float, default=None)
    parser.add_argument("--margin", type=float, default=None, help="promotion.margin (default: the service's)")
    parser.add_argument("--confidence", type=float, default=None, help="promotion.confidence (default: the service's)")
    parser.add_argument("--world", choices=sorted(WORLDS), default="shop")
    parser.add_argument("--train-every", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=2, help="simulations run side by side")
    args = parser.parse_args()
    share = args.candidate_share
    promotion = {k: v for k, v in (("margin", args.margin), ("confidence", args.confidence)) if v is not None}
    jobs = [
        (seed, drift, args.visitors, args.epsilon, share, args.train_every, args.world, promotion)
        for seed, drift in RUNS
    ]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        results = pool.map(run, jobs, chunksize=1)
    print(
        f"{date.today().isoformat()}: `mvt simulate --visitors {args.visitors} --epsilon {args.epsilon:g} "
        + ("" if share is None else f"--candidate-share {share:g} ")
        + "".join(f"--{k} {v:g} " for k, v in promotion.items())
        + f"--train-every {args.train_every} --seed S` (seed 6 with --drift-at 25000)"
        + ("" if args.world == "shop" else f", world {args.world}")
        + "\n"
    )
    print(HEADER)
    for r in results:
        print(r.pop("row"))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    name = (
        "learning"
        + ("" if args.world == "shop" else f"-{args.world}")
        + ("" if share is None else f"-share-{share:g}")
        + "".join(f"-{k}-{v:g}" for k, v in promotion.items())
    )
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
