"""A small seeded simulation through the real HTTP API of an embedded service."""

from __future__ import annotations

import math

from mvt_service import cli
from mvt_service.cli.simulating import service
from mvt_service.settings import Settings
from simulator.run import simulate
from simulator.shop import Shop


def test_the_bandit_learns_to_beat_uniform_random(settings: Settings) -> None:
    shop = Shop()
    with service(None, settings, seed=5) as api:
        result = simulate(api, shop, visitors=6000, train_every=1500, seed=5, bucket=1000, probes=1000)
    f = result.final
    assert f["policy_version"] >= 1 and any(p["status"] == "active" for p in result.policies)
    # Probing 1,000 fresh visitors: expected rewards lie in [0, 0.6], so each mean's standard error
    # is below 0.3 / sqrt(1000) = 0.0095; require a gap of five of them over uniform random.
    assert f["greedy"] - f["uniform"] > 5 * 0.3 / math.sqrt(1000)
    assert f["oracle"] >= f["greedy"]
    assert len(result.curve.visitors) == 6 and result.curve.visitors[-1] == 6000


def test_mvt_simulate_writes_the_chart_and_figures(tmp_path, capsys) -> None:
    out = tmp_path / "sim"
    assert cli.main(["simulate", "--visitors", "1500", "--train-every", "500", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1,500 visitors in" in printed and "of the oracle" in printed
    assert "<svg" in (out / "simulation.html").read_text()
    assert '"visitors": 1500' in (out / "simulation.json").read_text()
