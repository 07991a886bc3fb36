"""A short run of the load test (bench/load_test.py): paced decisions and rewards from two
processes against a live service, then the store audited against what was accepted."""

from __future__ import annotations

from bench.load_test import run


def test_the_store_holds_exactly_what_the_clients_saw_accepted() -> None:
    figures = run(seconds=4, rate=200, reward_share=0.3, clients=2)
    # how many requests fit in 4 s depends on the machine's load; what may not is the audit
    assert figures["errors"] == 0 and figures["decisions"] > 0 and figures["rewards"] > 0
    assert figures["exact"], figures
