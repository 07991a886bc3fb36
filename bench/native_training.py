"""Training speed inside a cycle against VW's own file parser, measured in the same run.

    python bench/native_training.py --events 50000 --repeats 3

Logs ``--events`` uniformly explored decisions of the default simulated shop (12 layouts,
5 context features), then times, on the same examples and settings (VW's defaults here):

- **VW's parser (reference)**: a ``vowpalwabbit`` workspace reading an already written data file
  (``-d``), nothing else;
- **cycle, new learner**: :func:`trainer.progressive.score_and_learn` as a cycle runs it with
  no serving policy: encode and write the examples, the learner's run with its predictions,
  reading them back, and every policy's pmf on every event;
- **cycle, continued, with a serving policy**: the same, continuing a saved learner, with the
  serving policy's scoring run beside it;
- **one call per example**: the previous way, a ``score`` and a ``learn`` call per example.

Each figure is the best of ``--repeats`` runs, as examples per second and as a ratio to the
reference.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import vowpalwabbit

from policy.exploration import GREEDY
from policy.learning import LearningSettings
from policy.model import VWModel
from simulator.offline import arm_lines, uniform_log
from simulator.shop import Shop
from trainer.progressive import score_and_learn
from trainer.train import data_file, learn, rows


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shop = Shop()
    lines = arm_lines(shop)
    examples = uniform_log(shop, args.events, seed=1)
    settings = LearningSettings()
    encoded = list(rows(examples, lines))
    (saved_model,) = learn(encoded, [settings])
    saved = saved_model.to_bytes()
    saved_model.close()

    with data_file(encoded) as path:

        def reference() -> None:
            workspace = vowpalwabbit.Workspace(f"{settings.vw_args()} --random_seed 0 -d {path} --quiet")
            workspace.run_parser()
            workspace.finish()

        def cycle(start: LearningSettings | bytes, serving: bytes | None) -> Callable[[], None]:
            def run() -> None:
                model, _ = score_and_learn(start, serving, examples, lines, GREEDY)
                model.close()

            return run

        def one_call_per_example() -> None:
            model = VWModel.new(settings)
            for row in encoded:
                model.score(row.context, row.lines)
                model.learn(row.context, row.lines, row.chosen, row.probability, row.reward)
            model.close()

        timings = {
            "VW's parser on a written file (reference)": best_seconds(reference, args.repeats),
            "cycle, new learner": best_seconds(cycle(settings, None), args.repeats),
            "cycle, continued, with a serving policy": best_seconds(cycle(saved, saved), args.repeats),
            "one score and one learn call per example": best_seconds(one_call_per_example, args.repeats),
        }
    reference_rate = args.events / next(iter(timings.values()))
    print(f"{args.events:,} events, {len(lines)} arms, {settings.vw_args()}, best of {args.repeats}\n")
    print("| path | examples/s | ratio to VW's parser |")
    print("|---|---:|---:|")
    for name, seconds in timings.items():
        rate = args.events / seconds
        print(f"| {name} | {rate:,.0f} | {rate / reference_rate:.2f} |")


if __name__ == "__main__":
    main()
