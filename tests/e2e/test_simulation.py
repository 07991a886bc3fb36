"""A small seeded simulation through the real HTTP API of an embedded service."""

from __future__ import annotations

import json
import re
from typing import Any

from mvt_service import cli
from mvt_service.cli.simulating import service
from mvt_service.settings import Settings
from simulator.run import simulate
from simulator.shop import Shop

VISITORS, TRAIN_EVERY = 15_000, 5_000  # three cycles: the gate needs held-out events to promote


def test_the_bandit_beats_uniform_random_and_the_best_fixed_layout(settings: Settings) -> None:
    shop = Shop()
    with service(None, settings, seed=5) as (api, timeline):
        result = simulate(
            api, shop, visitors=VISITORS, train_every=TRAIN_EVERY, seed=5, bucket=1000, probes=1000, timeline=timeline
        )
    f = result.final
    assert f["policy_version"] >= 1 and any(p["status"] == "active" for p in result.policies)
    # The margins come from the probe's own variance: five standard errors of the paired
    # per-visitor gain (the same 1,000 fresh visitors under each policy).
    assert f["greedy"] - f["uniform"] > 5 * f["se_gain_over_uniform"]
    assert f["greedy"] - f["best_fixed"] > 5 * f["se_gain_over_best_fixed"]
    assert f["oracle"] >= f["greedy"]
    assert result.curve.visitors[-1] == VISITORS and len(result.cycles) == VISITORS // TRAIN_EVERY
    assert all(c.served_version >= 0 and 0 < c.fraction_of_oracle <= 1 for c in result.cycles)


def test_mvt_simulate_writes_the_chart_and_figures(tmp_path, capsys) -> None:
    out = tmp_path / "sim"
    assert cli.main(["simulate", "--visitors", "1500", "--train-every", "500", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1,500 visitors in" in printed and "of the oracle" in printed
    page = (out / "simulation.html").read_text()
    assert "<svg" in page and "true reward per visitor" in page and ">visitors</text>" in page
    assert page.count('stroke-dasharray="3 3"') + page.count(">promoted</text>") == 3  # a mark per cycle
    assert re.findall(r'text-anchor="middle">([\d,]+)</text>', page)[:2] == ["0", "500"]  # round visitor ticks
    assert " of 0 cycles" not in page and "(v0)" not in page
    assert '"visitors": 1500' in (out / "simulation.json").read_text()


def test_a_seed_fixes_every_figure_but_the_durations(tmp_path, capsys) -> None:
    """Simulated time is the embedded service's clock: stamps, attribution windows, the writer's
    backlog and the search's budget depend on the seed alone, not on how fast the machine is."""
    runs = []
    for name in ("first", "second", "other-seed"):
        seed = "8" if name == "other-seed" else "7"
        args = ["simulate", "--visitors", "1500", "--train-every", "500", "--seed", seed, "--out", str(tmp_path / name)]
        assert cli.main(args) == 0
        runs.append(_figures(json.loads((tmp_path / name / "simulation.json").read_text())))
    assert "cannot be reproduced" not in capsys.readouterr().out
    first, second, other = runs
    assert first == second
    assert first["reproducible"] is True
    assert len(first["cycles"]) == 3 and all(c["events"] > 0 for c in first["cycles"])
    assert other["curve"] != first["curve"]  # the comparison is not vacuous: the seed matters


def _figures(doc: Any) -> Any:
    """A simulation's figures without its wall-clock durations (every field named ``seconds``)."""
    if isinstance(doc, dict):
        return {k: _figures(v) for k, v in doc.items() if k != "seconds"}
    if isinstance(doc, list):
        return [_figures(v) for v in doc]
    return doc
