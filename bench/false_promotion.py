"""How often the promotion gate lets a harmful learner through, and how long a serving policy
that became harmful keeps serving (offline, through the cycle's own code: simulator/gate.py).

    python bench/false_promotion.py [--seeds 20] [--cycles 10] [--candidate-share S] [--margin M] [--confidence C]
                                    [--jobs 2]

Three harmful learners (trained on permuted rewards, on inverted rewards, on rewards that favour
the poorest layout), each over ``--cycles`` cycles of 5,000 events and looked at after every
one: against a good serving policy (ε 0.1), by both rules, and against uniform random before
any policy serves (superiority). Beside each, what a gate that took the point estimate alone
would have done. Then two serving policies that became harmful (the shop's tastes changed; an
operator activated a poor version): the cycle after which the guard retired each. With
``--candidate-share``, that share of the exploration budget serves each learner's choice while it
is the candidate (simulator/gate.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy.experiment import PromotionSettings
from simulator.gate import HARMS, TURNS, harmful_learner, harmful_serving
from simulator.shop import Shop


def learner_job(job: tuple[str, int, int, bool, float, PromotionSettings]) -> dict[str, Any]:
    harm, seed, cycles, against_uniform, candidate_share, rule = job
    run = harmful_learner(
        Shop(), harm, seed, cycles=cycles, against_uniform=against_uniform, share=candidate_share, given=rule
    )
    return {**asdict(run), "against": "uniform random" if against_uniform else "serving policy"}


def turn_job(job: tuple[str, int, float, PromotionSettings]) -> dict[str, Any]:
    turn, seed, candidate_share, rule = job
    return asdict(harmful_serving(Shop(), turn, seed, share=candidate_share, given=rule))


def promoted_in(runs: list[dict[str, Any]], key: str) -> str:
    """How many runs the gate ``key`` promoted, and how many of those were truly no better."""
    promoted = [r for r in runs if r[key] is not None]
    worse = sum(r["true_gain"] <= 0 for r in promoted)
    return f"{len(promoted)} of {len(runs)}" + (f" ({worse} truly no better)" if promoted else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--candidate-share", type=float, default=0.0)
    parser.add_argument("--margin", type=float, default=PromotionSettings.margin)
    parser.add_argument("--confidence", type=float, default=PromotionSettings.confidence)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seeds, share = range(1, args.seeds + 1), args.candidate_share
    rule = PromotionSettings(margin=args.margin, confidence=args.confidence)
    learners = [(h, s, args.cycles, u, share, rule) for u in (False, True) for h in HARMS for s in seeds]
    turns = [(t, s, share, rule) for t in TURNS for s in seeds]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        runs = pool.map(learner_job, learners, chunksize=1)
        turned = pool.map(turn_job, turns, chunksize=1)
    print(
        f"harmful learners, {args.cycles} cycles of 5,000 events, looked at after each, candidate share "
        f"{share:g}, margin {rule.margin:g}, confidence {rule.confidence:g}; promoted in:\n"
    )
    print("| learner | against | superiority | non-inferiority | point estimate alone | true gain ÷ oracle |")
    print("|---|---|---:|---:|---:|---:|")
    for against in ("serving policy", "uniform random"):
        for harm in HARMS:
            mine = [r for r in runs if r["harm"] == harm and r["against"] == against]
            gains = [r["true_gain"] for r in mine]
            print(
                f"| {harm} | {against} | {promoted_in(mine, 'superiority')} | "
                f"{promoted_in(mine, 'non_inferiority') if against == 'serving policy' else '–'} | "
                f"{promoted_in(mine, 'point_estimate')} | {min(gains):+.3f} to {max(gains):+.3f} |"
            )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    name = "false_promotion" + ("" if share == 0 else f"-share-{share:g}")
    if rule != PromotionSettings():
        name += f"-margin-{rule.margin:g}-confidence-{rule.confidence:g}"
    (out / f"{name}.json").write_text(json.dumps({"learners": runs, "serving": turned}, indent=2))
    print("\nserving policies that became harmful: cycles until the guard retired them\n")
    print("| turn | retired after 1 / 2 / later or never | serving ÷ oracle | uniform ÷ oracle |")
    print("|---|---:|---:|---:|")
    for turn in TURNS:
        mine = [r for r in turned if r["turn"] == turn]
        counts = [sum(r["retired"] == c for r in mine) for c in (1, 2)]
        late = len(mine) - sum(counts)
        values = [r["serving"] for r in mine]
        print(
            f"| {turn} | {counts[0]} / {counts[1]} / {late} | {min(values):.3f} to {max(values):.3f} | "
            f"{mine[0]['uniform']:.3f} |"
        )


if __name__ == "__main__":
    main()
