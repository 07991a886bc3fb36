"""In a real browser (Debian's headless Chromium, driven by Playwright): the example shop page,
served from another origin, gets its layout from the service within its timeout, falls back to
the default layout when the service is stopped or does not answer, and posts a reward by beacon
that reaches the joined log; and the API documentation renders without network access.

Skipped, saying why, when Chromium or Playwright is missing (``.ci/run`` installs both)."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mvt_service.app import create_app
from mvt_service.cli.serving import serving
from mvt_service.settings import Settings
from policy.records import utcnow
from store.repositories import Backend
from tests.helpers import eventually
from trainer.join import closed_examples

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is installed by the test extras")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: apt-get install chromium")

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"
DEFAULT = "hero=big,cta=green,headline=value"
TIMEOUT_MS = 1500


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page_origin() -> Iterator[str]:
    """The example page, served by a plain static server on a port of its own (another origin)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(EXAMPLE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def load(browser: Any, url: str) -> Any:
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-source]", timeout=15_000)
    return page


def test_the_example_page_gets_a_layout_and_its_reward_reaches_the_joined_log(
    browser: Any, page_origin: str, settings: Settings, shared_backend: Backend
) -> None:
    web = settings.model_copy(update={"cors_origins": page_origin})
    with serving(create_app(web, backend=shared_backend)) as service:
        page = load(browser, f"{page_origin}/index.html?service={service}&timeout={TIMEOUT_MS}")
        assert page.get_attribute("body", "data-source") == "service", page.inner_text("#status")
        event_id = page.input_value("#event-id")
        layout = page.get_attribute("body", "data-layout")
        assert event_id and layout in {a.id for a in shared_backend.store().experiments.get("home").arms}
        assert int(page.get_attribute("body", "data-waited-ms")) <= TIMEOUT_MS

        page.click("#buy")
        page.wait_for_selector("body[data-rewarded]")
        assert page.get_attribute("body", "data-rewarded") == "true"
        store = shared_backend.store()
        eventually(lambda: len(store.events.rewards_of(event_id)) == 1, 10, "no reward stored")
        experiment = store.experiments.get("home")
        later = utcnow() + timedelta(seconds=experiment.reward.window_seconds + 60)  # every window closed
        joined = {e.event_id: e for e in closed_examples(store, experiment, later)}
        assert (joined[event_id].action, joined[event_id].reward) == (layout, 1.0)
        page.close()


def test_the_page_shows_the_default_layout_when_the_service_is_stopped(browser: Any, page_origin: str) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        stopped = f"http://127.0.0.1:{s.getsockname()[1]}"
    page = load(browser, f"{page_origin}/index.html?service={stopped}&timeout={TIMEOUT_MS}")
    assert (page.get_attribute("body", "data-source"), page.get_attribute("body", "data-layout")) == (
        "fallback",
        DEFAULT,
    )
    assert page.input_value("#event-id") == ""
    page.close()


def test_a_service_that_does_not_answer_gets_the_default_layout_after_the_timeout(
    browser: Any, page_origin: str, settings: Settings, shared_backend: Backend
) -> None:
    """The client module loads, but decisions hang: the page waits its timeout and no longer."""
    web = settings.model_copy(update={"cors_origins": page_origin})
    with serving(create_app(web, backend=shared_backend)) as service:
        page = browser.new_page()
        page.route("**/v1/decisions", lambda route: None)  # held: never answered
        page.goto(f"{page_origin}/index.html?service={service}&timeout={TIMEOUT_MS}")
        page.wait_for_selector("body[data-source]", timeout=15_000)
        assert page.get_attribute("body", "data-source") == "fallback"
        assert page.get_attribute("body", "data-layout") == DEFAULT
        assert "abort" in page.inner_text("#status").lower()
        assert int(page.get_attribute("body", "data-waited-ms")) >= TIMEOUT_MS
        page.close()


@pytest.mark.parametrize(("path", "operation"), [("/docs", ".opblock"), ("/redoc", "[data-section-id^='operation']")])
def test_the_api_documentation_renders_without_network_access(
    browser: Any, settings: Settings, shared_backend: Backend, path: str, operation: str
) -> None:
    with serving(create_app(settings, backend=shared_backend)) as service:
        elsewhere: list[str] = []
        page = browser.new_page()

        def only_the_service(route: Any) -> None:
            if route.request.url.startswith(service):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_service)
        # the pages' CSP stops a remote fetch before it reaches the network: count those too
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{service}{path}")
        page.wait_for_selector(operation, timeout=20_000)
        page.wait_for_timeout(500)  # the sidebar and images draw after the operations
        documented = len(page.query_selector_all(operation))
        operations = sum(
            len(ops) for ops in page.evaluate("fetch('/openapi.json').then(r => r.json())")["paths"].values()
        )
        assert documented == operations
        assert (elsewhere, blocked) == ([], [])
        page.close()
