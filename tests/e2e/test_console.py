"""The operator console in a real browser (Debian's headless Chromium, driven by Playwright): an
unauthenticated visit is refused, an operator signs in, changes epsilon and pauses (after which
decisions return the default arm), and rolls back a policy version.

Skipped, saying why, when Chromium or Playwright is missing (``.ci/run`` installs both)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mvt_service.app import create_app
from mvt_service.cli.serving import serving
from mvt_service.client import Connection
from mvt_service.settings import Settings
from policy.records import utcnow
from store.repositories import Backend
from tests import factories

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is installed by the test extras")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: apt-get install chromium")

OPERATOR, CLIENT = "operator-key-1", "client-key-1"
EXPERIMENT = {
    **factories.THREE_ARMS,
    "reward": {"window_seconds": 60},
    "training": {"min_events": 100, "interval_seconds": 86400},
    "promotion": {"min_events": 50},
}
SCREENSHOT = Path(__file__).parents[2] / "docs" / "console.png"
"""Redrawn by this test when ``MVT_DOCS_SCREENSHOTS`` is set (a test run leaves the tree alone)."""


@pytest.fixture
def service(settings: Settings, shared_backend: Backend) -> Iterator[str]:
    """A keyed service with experiment `exp` and two trained policies, v2 serving."""
    keyed = settings.model_copy(update={"client_keys": CLIENT, "operator_keys": OPERATOR})
    with serving(create_app(keyed, backend=shared_backend)) as url:
        api = Connection(url, OPERATOR)
        api.json("PUT", "/v1/experiments/exp", EXPERIMENT)
        factories.log_uniform_traffic(shared_backend.store(), 600, ts=utcnow() - timedelta(hours=3))
        api.json("POST", "/v1/experiments/exp/train")
        other = {**EXPERIMENT, "training": {**EXPERIMENT["training"], "vw": {"learning_rate": 0.1}}}
        api.json("PUT", "/v1/experiments/exp", other)  # other settings: a new learner, v2
        api.json("POST", "/v1/experiments/exp/train")
        api.json("POST", "/v1/experiments/exp/policies/2/activate")
        yield url


@pytest.fixture
def page(service: str) -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1200, "height": 1600})
        tab.on("dialog", lambda dialog: dialog.accept())  # every change asks for confirmation
        tab.goto(f"{service}/console")
        yield tab
        browser.close()


def experiment(service: str) -> dict[str, Any]:
    return dict(Connection(service, OPERATOR).json("GET", "/v1/experiments/exp"))


def test_an_unauthenticated_visit_is_refused(page: Any) -> None:
    page.wait_for_selector("#login")
    assert page.query_selector("#experiments") is None
    page.fill("#key", CLIENT)  # a client key is not an operator's
    page.click("#login button")
    page.wait_for_selector("#login [role=alert]")
    assert "Refused" in page.inner_text("#login [role=alert]")
    assert page.query_selector("#experiments") is None


def test_an_operator_sees_how_the_experiment_is_doing(page: Any) -> None:
    page.fill("#key", OPERATOR)
    page.click("#login button")
    page.wait_for_selector("#experiments")
    row = page.inner_text("#experiments tbody tr:has-text('exp')")
    assert "serving: policy v2" in row and "0.20" in row
    page.click("#experiments a:text('exp')")
    page.wait_for_selector("#figures svg")
    charts = page.query_selector_all("#figures figure svg")
    assert [c.get_attribute("aria-label") for c in charts] == [
        "Decisions per hour, by serving group",
        "Mean reward per decision, by serving group (95% intervals; decisions whose window has closed)",
    ]
    assert page.query_selector_all("#figures polyline")  # a line per group
    health = page.inner_text("#health")
    assert "600" in health and "no holdout" in health  # the 600 logged decisions of the last 24 h
    assert "device" in page.inner_text("#figures")  # its segment table
    assert page.query_selector("#importance") is not None


def test_an_operator_changes_epsilon_pauses_and_rolls_back(page: Any, service: str, tmp_path: Path) -> None:
    page.fill("#key", OPERATOR)
    page.click("#login button")
    page.click("#experiments a:text('exp')")
    page.wait_for_selector("#controls")

    page.fill("#holdout", "0.1")
    page.click("#set-holdout")
    page.wait_for_selector("#notice p")
    assert page.query_selector("#notice .done"), page.inner_text("#notice")
    assert experiment(service)["holdout"] == {"fraction": 0.1}

    page.fill("#epsilon", "0.05")
    page.click("#set-epsilon")
    page.wait_for_selector(".done")
    assert experiment(service)["exploration"]["epsilon"] == 0.05

    page.click(".activate[data-version='1']")  # roll back to v1
    page.wait_for_selector("#status:has-text('policy v1')")
    assert experiment(service)["active_policy"] == 1

    page.click("#pause")
    page.wait_for_selector("#resume")
    assert experiment(service)["paused"]
    decision = Connection(service, CLIENT).json("POST", "/v1/decisions", {"experiment": "exp"})
    assert decision["action"] == EXPERIMENT["arms"][0]["id"]  # the default arm
    audit = Connection(service, OPERATOR).json("GET", "/v1/audit?experiment=exp")
    assert {"set_exploration", "pause", "activate_policy"} <= {a["action"] for a in audit}

    assert page.inner_text("#candidate").endswith("Exploration is uniform random.")  # the rollback ended its share
    page.wait_for_selector("#report iframe")
    shot = SCREENSHOT if os.environ.get("MVT_DOCS_SCREENSHOTS") else tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000  # a page was drawn


def test_an_experiment_without_traffic_says_so_instead_of_drawing_empty_charts(page: Any) -> None:
    page.fill("#key", OPERATOR)
    page.click("#login button")
    page.click("#experiments a:text('home')")  # the seeded demo experiment: no traffic yet
    page.wait_for_selector("#figures")
    text = page.inner_text("#figures")
    assert "No decision in the last 24 hours." in text
    assert "No decision of the last 24 hours has a closed attribution window yet" in text
    assert page.query_selector_all("#figures svg") == []


def test_an_operator_sees_the_candidate_and_sets_its_share(page: Any, service: str) -> None:
    api = Connection(service, OPERATOR)
    other = {**EXPERIMENT, "training": {**EXPERIMENT["training"], "vw": {"learning_rate": 0.2}}}
    api.json("PUT", "/v1/experiments/exp", other)  # other settings again: a new learner, v3
    assert api.json("POST", "/v1/experiments/exp/train")["status"] == "rejected"
    assert experiment(service)["candidate_policy"] == 3
    page.fill("#key", OPERATOR)
    page.click("#login button")
    page.click("#experiments a:text('exp')")
    page.wait_for_selector("#candidate-evidence")
    assert "v3 is the candidate: its choice is shown to 10.0% of visitors (50.0% of the exploration ε = 0.2)" in (
        page.inner_text("#candidate-share-text")
    )
    sentence = api.json("GET", "/v1/experiments/exp/reports?limit=1")[0]["sentence"]
    assert page.inner_text("#candidate-evidence") == f"The evidence so far, from the cycle that trained it: {sentence}"
    assert sentence.startswith("learner v3 (ε=0.2) − serving v2 (ε=0.2): ")  # the report page's words

    page.fill("#candidate-share", "0.25")
    page.click("#set-candidate-share")
    page.wait_for_selector("#candidate-share-text:has-text('25.0% of the exploration')")
    assert experiment(service)["exploration"]["candidate_share"] == 0.25
