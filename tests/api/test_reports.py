"""Replay reports and the DSJSON export over HTTP."""

from __future__ import annotations

import html
import re

import orjson
import pytest
import vowpalwabbit
from fastapi.testclient import TestClient

from tests import factories
from tests.helpers import TickingClock, services_of
from trainer.cycle import NOT_JUDGED

EXPERIMENT = factories.THREE_ARMS


@pytest.fixture
def trained(client: TestClient) -> TestClient:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services_of(client).store, 1500)
    assert client.post("/v1/experiments/exp/train").json()["status"] == "active"
    return client


def test_latest_report_as_json(trained: TestClient) -> None:
    report = trained.get("/v1/experiments/exp/reports/latest").json()
    assert report["candidate_version"] == 1 and report["active_version"] is None
    assert report["split"]["events"] == 1500 and report["mode"] == "new"
    names = [p["name"] for p in report["policies"]]
    assert names == [
        "logging policy (observed mean)",
        "learner v1 (ε=0.2)",
        "learner v1 (greedy)",
        "no policy (uniform) (ε=0.2)",
        "no policy (uniform) (greedy)",
        "uniform random",
        "always a",
        "always b",
        "always c",
    ]
    greedy = report["policies"][2]
    assert set(greedy["estimates"]) == {"ips", "snips", "dr"}
    assert greedy["estimates"]["dr"]["low"] < greedy["estimates"]["dr"]["value"] < greedy["estimates"]["dr"]["high"]
    assert 0 < greedy["ess"] <= 1500 and greedy["max_weight"] == pytest.approx(3.0)
    assert sum(share for _, share in greedy["arm_share"]) == pytest.approx(1.0)
    assert report["verdict"]["promoted"] is True
    assert report["comparison"]["metric"] == "dr" and report["comparison"]["rule"] == "superiority"


def test_a_continued_learners_report_says_which_events_the_gate_read_and_which_the_table_holds(
    trained: TestClient, clock: TickingClock
) -> None:
    """The gate reads the lineage's evidence over all its cycles; the table is this cycle's. The
    report says so, with the difference on this cycle's events, where the two differ."""
    held = {**EXPERIMENT, "promotion": {"min_events": 5000}}  # the learner is judged, never promoted
    assert trained.put("/v1/experiments/exp", json=held).status_code == 200
    for seed, events in ((1, 400), (2, 300), (3, 200)):  # the first continues the serving policy: not judged
        factories.log_uniform_traffic(services_of(trained).store, events, seed=seed, ts=clock())
        clock.advance(3600)
        assert trained.post("/v1/experiments/exp/train").json()["status"] == "rejected"
    report = trained.get("/v1/experiments/exp/reports/latest").json()
    comparison = report["comparison"]
    assert comparison["cycle"]["events"] == report["split"]["events"] == 200
    assert comparison["events"] == 500 and comparison["candidate"] == "candidate v3 (ε=0.2)"
    assert (report["judged_version"], report["candidate_version"]) == (3, 4)
    page = trained.get("/v1/experiments/exp/reports/latest?format=html").text
    assert (
        "Not promoted: v1 keeps serving decisions; candidate v3 was not promoted. "
        "Learner v4, which continues it, is the candidate now."
    ) in page
    assert "200 events, each scored by candidate v3 as it was offered" in page
    assert f"Those {comparison['events']:,} events are every one the gate has read, cycle after cycle" in page
    assert "the table holds this cycle&#x27;s 200 alone, on which the difference is" in page


def test_report_list(trained: TestClient, clock: TickingClock) -> None:
    factories.log_uniform_traffic(services_of(trained).store, 200, seed=1, ts=clock(), shuffle_rewards=True)
    clock.advance(3600)
    assert trained.post("/v1/experiments/exp/train").json()["mode"] == "continued"
    listed = trained.get("/v1/experiments/exp/reports").json()
    assert [r["candidate_version"] for r in listed] == [2, 1] and listed[1]["verdict"]["promoted"]
    assert "policies" not in listed[0]
    # the gate's comparison in the report page's words, for the console
    page = trained.get("/v1/experiments/exp/reports/latest?format=html").text
    # v2 continues the serving policy, with no candidate offered meanwhile: it is not judged yet
    assert listed[0]["sentence"] == f"No evidence yet for the non-inferiority rule: {NOT_JUDGED}."
    assert html.escape(listed[0]["sentence"]) in page
    factories.log_uniform_traffic(services_of(trained).store, 200, seed=2, ts=clock())
    clock.advance(3600)
    trained.post("/v1/experiments/exp/train")
    [latest] = trained.get("/v1/experiments/exp/reports?limit=1").json()
    assert latest["sentence"].startswith("candidate v2 (ε=0.2) − serving v1 (ε=0.2): ")


@pytest.mark.parametrize(("query", "headers"), [("?format=html", {}), ("", {"accept": "text/html,*/*"})])
def test_latest_report_as_html(trained: TestClient, query: str, headers: dict) -> None:
    response = trained.get(f"/v1/experiments/exp/reports/latest{query}", headers=headers)
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Promoted: learner v1 now serves decisions in place of uniform random layouts." in page
    assert page.count("<circle") == 9 and "<svg" in page
    assert "The best single layout, as estimated from this log (what a classic A/B/n test would ship), is <b>" in page


def test_the_html_report_reads_as_a_person_would_want(trained: TestClient) -> None:
    """One verdict in words (not the gate's raw text too), a time in words, round axis ticks,
    three decimals for every value, and room for the longest label."""
    report = trained.get("/v1/experiments/exp/reports/latest").json()
    page = trained.get("/v1/experiments/exp/reports/latest?format=html").text
    assert report["verdict"]["reason"] not in page
    assert "The rule is superiority: new learning settings must show they are better" in page
    assert re.search(r"\b\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC\b", page)
    assert report["created_at"][:16] not in page  # no ISO time stamp
    ticks = [float(t.replace("−", "-").replace(",", "")) for t in re.findall(r'text-anchor="middle">([^<]+)<', page)]
    step = ticks[1] - ticks[0]
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in ticks), ticks
    cells = re.findall(r"<td>(−?\d+\.\d+)</td>", page)
    assert cells and all(len(c.split(".")[1]) in (1, 3) for c in cells)  # values: 3 decimals; weights: 1
    label = int(re.search(r'<text x="(\d+)" y="\d+" font-size="12" text-anchor="end"', page).group(1)) + 8
    longest = max(len(p["name"]) for p in report["policies"])
    assert label >= 7.2 * longest


def test_no_report_yet_is_404(client: TestClient) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    response = client.get("/v1/experiments/exp/reports/latest")
    assert response.status_code == 404
    assert response.json()["detail"] == "experiment `exp` has no replay report yet: run a training cycle"
    assert client.get("/v1/experiments/nope/reports").status_code == 404


def test_export_is_dsjson_that_vw_parses(client: TestClient, tmp_path) -> None:
    client.put("/v1/experiments/exp", json=EXPERIMENT)
    factories.log_uniform_traffic(services_of(client).store, 200)
    response = client.get("/v1/experiments/exp/export?format=dsjson")
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.text.splitlines()
    assert len(lines) == 200
    first = orjson.loads(lines[0])
    chosen = first["_labelIndex"]
    assert first["_label_Action"] == chosen + 1 and first["a"][0] == chosen + 1
    assert first["_label_probability"] == pytest.approx(1 / 3) and first["_label_cost"] in (0.0, -1.0)
    assert first["c"]["_multi"][0] == {"A": {"arm": "a", "color": "red"}}
    path = tmp_path / "export.json"
    path.write_text(response.text)
    vw = vowpalwabbit.Workspace(f"--cb_explore_adf --dsjson --strict_parse -d {path} --quiet")
    try:
        assert vw.get_weighted_examples() == 200
    finally:
        vw.finish()
