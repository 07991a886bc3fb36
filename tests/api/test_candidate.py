"""The candidate's share of the exploration budget, served: every decision logs the exact
mixture and the candidate that took part, the candidate draws at most ε × share of the traffic,
and the holdout, pause, greedy requests, sticky visits and every worker agree on it."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest
import vowpalwabbit
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from mvt_service.app import create_app
from mvt_service.settings import Settings
from store.repositories import Backend
from tests import factories
from tests.helpers import TickingClock, eventually, services_of

EXPERIMENT = {**factories.THREE_ARMS, "exploration": {"epsilon": 0.3, "candidate_share": 0.5}}
OTHER_TASTES = {"mobile": "c", "desktop": "b", "tablet": "a"}
"""What the candidate learned each device prefers: never what the serving policy learned
(:data:`tests.factories.BEST_ARM`)."""


def serve_with_a_candidate(client: TestClient) -> None:
    """Experiment ``exp`` served by v1 (learned from BEST_ARM visitors) with v2, a learner of
    other tastes registered after it, as its candidate."""
    store = services_of(client).store
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(store, 600)
    assert client.post("/v1/experiments/exp/train").json()["status"] == "active"
    client.put("/v1/experiments/other", json=factories.THREE_ARMS)
    factories.log_uniform_traffic(store, 600, experiment_id="other", best=OTHER_TASTES)
    assert client.post("/v1/experiments/other/train").json()["status"] == "active"
    store.policies.insert(factories.policy_record(version=2, status="rejected"), store.policies.model("other", 1))
    assert store.policies.offer_candidate("exp", 2, 1)
    eventually(lambda: client.get("/readyz").json()["candidates"] == {"exp": 2}, message="the candidate never served")


def expected_pmf(device: str, holdout: float = 0.0) -> list[float]:
    """β of policy.decision.choose_action for ε = 0.3, s = 0.5, 3 arms: 0.7 to the serving
    choice, 0.15 to the candidate's, 0.05 to each arm; then the holdout on arm a."""
    beta = [0.05 + 0.7 * (a == factories.BEST_ARM[device]) + 0.15 * (a == OTHER_TASTES[device]) for a in "abc"]
    return [holdout * (a == "a") + (1 - holdout) * p for a, p in zip("abc", beta)]


def decide(client: TestClient, event_id: str, device: str, **body: object) -> dict[str, object]:
    answer = client.post(
        "/v1/decisions", json={"experiment": "exp", "event_id": event_id, "context": {"device": device}, **body}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def candidate_draws() -> float:
    return REGISTRY.get_sample_value("mvt_candidate_decisions_total", {"experiment": "exp"}) or 0.0


def test_every_decision_logs_the_mixture_and_the_candidate_keeps_to_its_share(client: TestClient) -> None:
    serve_with_a_candidate(client)
    store, before, n = services_of(client).store, candidate_draws(), 900
    for i in range(n):
        decide(client, f"d{i}", ["mobile", "desktop", "tablet"][i % 3])
    decisions = [store.events.get_decision(f"d{i}") for i in range(n)]
    for d in decisions:
        assert (d.policy_version, d.candidate_version, d.group) == (1, 2, "bandit")
        assert list(d.pmf) == pytest.approx(expected_pmf(d.context["device"]), abs=1e-12)
        assert d.probability == d.pmf[d.actions.index(d.action)]
    # the candidate's share drew each of its decisions with probability ε s = 0.15
    drawn = candidate_draws() - before
    assert drawn <= n * 0.15 + 5 * math.sqrt(n * 0.15 * 0.85)
    assert drawn >= n * 0.15 - 5 * math.sqrt(n * 0.15 * 0.85)
    shown = sum(d.action == OTHER_TASTES[d.context["device"]] for d in decisions)
    assert abs(shown - n * 0.2) <= 5 * math.sqrt(n * 0.2 * 0.8)  # its choice: 0.15 + the uniform 0.05


def test_the_holdout_pause_greedy_requests_and_sticky_visits_agree_on_the_candidate(client: TestClient) -> None:
    serve_with_a_candidate(client)
    store = services_of(client).store
    client.patch("/v1/experiments/exp/holdout", json={"fraction": 0.2})
    held = [store.events.get_decision(decide(client, f"h{i}", "desktop")["event_id"]) for i in range(30)]
    for d in held:
        assert d.candidate_version == 2 and list(d.pmf) == pytest.approx(expected_pmf("desktop", 0.2), abs=1e-12)
    greedy = store.events.get_decision(decide(client, "g", "desktop", explore=False)["event_id"])
    assert greedy.candidate_version is None and greedy.probability == 1.0 and greedy.action == "a"
    client.post("/v1/experiments/exp/pause")
    paused = store.events.get_decision(decide(client, "p", "desktop")["event_id"])
    assert (paused.group, paused.candidate_version) == ("paused", None)
    client.post("/v1/experiments/exp/resume")
    client.put("/v1/experiments/exp", json={**EXPERIMENT, "sticky_seconds": 600})
    first = decide(client, "s1", "tablet", visitor="v-1")
    again = decide(client, "s2", "tablet", visitor="v-1")
    assert again == first and store.events.get_decision("s1").candidate_version == 2


def test_share_zero_or_a_switch_of_the_serving_policy_ends_the_candidates_part(client: TestClient) -> None:
    serve_with_a_candidate(client)
    store = services_of(client).store
    client.patch("/v1/experiments/exp/exploration", json={"candidate_share": 0.0})
    eventually(lambda: client.get("/readyz").json()["candidates"] == {}, message="the candidate kept serving")
    plain = store.events.get_decision(decide(client, "z", "mobile")["event_id"])
    assert plain.candidate_version is None and list(plain.pmf) == pytest.approx([0.1, 0.8, 0.1])
    client.patch("/v1/experiments/exp/exploration", json={"candidate_share": 0.5})
    eventually(lambda: client.get("/readyz").json()["candidates"] == {"exp": 2}, message="the candidate is back")
    assert client.post("/v1/experiments/exp/policies/1/activate").status_code == 200  # a rollback to v1
    eventually(lambda: client.get("/readyz").json()["candidates"] == {}, message="the candidate outlived a rollback")
    assert client.get("/v1/experiments/exp").json()["candidate_policy"] is None


def test_every_worker_serves_the_candidate_after_its_reload(
    settings: Settings, shared_backend: Backend, clock: TickingClock
) -> None:
    with (
        TestClient(create_app(settings, clock=clock, backend=shared_backend)) as one,
        TestClient(create_app(settings, clock=clock, backend=shared_backend)) as two,
    ):
        serve_with_a_candidate(one)
        eventually(lambda: two.get("/readyz").json()["candidates"] == {"exp": 2}, message="worker two never loaded it")
        d = services_of(two).store.events.get_decision(decide(two, "w2", "mobile")["event_id"])
        assert d.candidate_version == 2 and list(d.pmf) == pytest.approx(expected_pmf("mobile"), abs=1e-12)


def test_the_dsjson_export_carries_the_logged_mixture_and_vw_reads_it(
    client: TestClient, clock: TickingClock, tmp_path: Path
) -> None:
    serve_with_a_candidate(client)
    for i in range(60):
        decide(client, f"x{i}", ["mobile", "desktop", "tablet"][i % 3])
    clock.advance(120)  # past the attribution window: the decisions can be exported
    lines = [orjson.loads(line) for line in client.get("/v1/experiments/exp/export?format=dsjson").text.splitlines()]
    mine = [line for line in lines if line["EventId"].startswith("x")]
    assert len(mine) == 60
    for line in mine:
        device = line["c"]["U"]["device"]
        pmf = expected_pmf(device)
        assert line["p"] == pytest.approx([pmf[a - 1] for a in line["a"]], abs=1e-12)
        assert line["_label_probability"] == pytest.approx(pmf[line["_labelIndex"]], abs=1e-12)
    path = tmp_path / "export.json"
    path.write_text("".join(orjson.dumps(line).decode() + "\n" for line in mine))
    vw = vowpalwabbit.Workspace(f"--cb_explore_adf --dsjson --strict_parse -d {path} --quiet")
    try:
        assert vw.get_weighted_examples() == 60
    finally:
        vw.finish()
