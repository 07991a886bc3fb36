"""Estimator throughput: IPS, SNIPS, DR, ESS and arm shares of one target policy on n events.

    python bench/replay_bench.py --events 1000000 --arms 12

Builds a synthetic log as numpy arrays (uniform logging over ``--arms`` arms, Bernoulli rewards,
a random reward model) and an epsilon-greedy target, then times ``replay.evaluation.evaluate``
(all three estimators with intervals, diagnostics) and one paired ``compare``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from replay.evaluation import compare, evaluate
from replay.log import BanditLog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--arms", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, k = args.events, args.arms
    rng = np.random.default_rng(0)
    log = BanditLog(
        chosen=rng.integers(0, k, n),
        propensity=np.full(n, 1 / k),
        reward=(rng.random(n) < 0.1).astype(float),
        offsets=np.arange(n + 1) * k,
        arm_codes=np.tile(np.arange(k), n),
        arm_names=tuple(f"arm{j}" for j in range(k)),
        predicted=rng.random(n * k) * 0.2,
    )
    best = rng.integers(0, k, n)
    target = np.full((n, k), 0.2 / k)
    target[np.arange(n), best] += 0.8
    target = target.ravel()

    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        a = evaluate(log, target)
        timings.append(time.perf_counter() - started)
    seconds = min(timings)
    started = time.perf_counter()
    compare(a, evaluate(log, np.full(n * k, 1 / k)), "dr")
    paired = time.perf_counter() - started
    print(
        f"{n:,} events x {k} arms: evaluate (IPS, SNIPS, DR, intervals, ESS, arm shares) "
        f"{seconds:.2f} s = {n / seconds:,.0f} events/s (best of {args.repeats})"
    )
    print(f"second policy + paired DR comparison: {paired:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
