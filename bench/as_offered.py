"""Why the candidate is judged as it was offered: the per-event differences (candidate − serving
policy, by DR) on the same events, scored by the candidate as it was offered and by the learner
as it learned them (simulator/offline.py, the shop, ε 0.1, share 0.5).

    python bench/as_offered.py [--seed 1] [--cycles 5]

The serving policy is the default learner on 5,000 uniform events; the candidate continues it
on 5,000 events it served (no candidate then). Each next cycle serves 5,000 visitors with the
candidate's share, and prints the mean and standard deviation of both kinds of terms.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy.learning import LearningSettings
from policy.model import VWModel
from simulator.gate import experiment
from simulator.offline import arm_lines, learn, served_log, uniform_log
from simulator.shop import Shop
from trainer.progressive import score_and_learn
from trainer.report import evaluate_cycle

STEP = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    shop, seed = Shop(), args.seed
    exp, lines = experiment(shop, 0.1), arm_lines(shop)
    serving = VWModel.new(LearningSettings(), seed=seed)
    try:
        learn(serving, shop, uniform_log(shop, STEP, seed))
        served = serving.to_bytes()
        events = served_log(shop, serving, STEP, 0.1, seed * 100 + 1, first=STEP)
        model, _ = score_and_learn(served, served, events, lines, exp.strategy)
        candidate, offered = model, model.to_bytes()
        try:
            print("| cycle | as offered: mean | sd | as it learned: mean | sd |\n|---:|---:|---:|---:|---:|")
            for cycle in range(2, args.cycles + 2):
                events = served_log(
                    shop, serving, STEP, 0.1, seed * 100 + cycle, first=cycle * STEP, candidate=candidate, share=0.5
                )
                rows = []
                for frozen in (True, False):
                    learner, scored = score_and_learn(offered, served, events, lines, exp.strategy, as_offered=frozen)
                    learner.close()
                    d = evaluate_cycle(exp, scored, "candidate", "serving").difference
                    rows += [f"{d.mean():+.4f}", f"{d.std():.2f}"]
                print(f"| {cycle} | " + " | ".join(rows) + " |")
        finally:
            candidate.close()
    finally:
        serving.close()


if __name__ == "__main__":
    main()
