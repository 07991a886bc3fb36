"""The single-machine default keeps everything across a crash: load, ``kill -9``, a restart with
the same command and no extra setting; every decision and reward answered at least 2 s before
the kill is there, and so are the experiments, exploration changes, policies, reports and audit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mvt_service.cli.common import ApiClient, CommandError
from store import sqlite
from tests.factories import THREE_ARMS
from tests.helpers import eventually

QUICK = {**THREE_ARMS, "reward": {"window_seconds": 1}, "promotion": {"min_events": 50}}
"""Windows that close in a second, so that the test trains a policy right away."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(folder: Path, port: int) -> Iterator[tuple[subprocess.Popen[bytes], ApiClient]]:
    """``mvt serve`` as an operator runs it, in ``folder`` (where its data lives by default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVT_")}
    env.update(MVT_PORT=str(port), MVT_TRAIN_IN_PROCESS="false", MVT_LOG_FLUSH_SECONDS="0.05")
    server = subprocess.Popen(
        [sys.executable, "-m", "mvt_service.cli", "--log-level", "warning", "serve"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    api = ApiClient(f"http://127.0.0.1:{port}")

    def ready() -> bool:
        try:
            return bool(api("GET", "/readyz")["status"] == "ready")
        except CommandError:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            return False

    try:
        eventually(ready, timeout=30, message="the service did not start")
        yield server, api
    finally:
        api.close()
        if server.poll() is None:
            server.terminate()
            server.wait(30)


def answered(api: ApiClient, n: int) -> list[str]:
    ids = []
    for i in range(n):
        decision = api("POST", "/v1/decisions", {"experiment": "quick", "context": {"device": f"d{i % 3}"}})
        ids.append(decision["event_id"])
    batch = [{"event_id": e, "reward": 1.0} for e in ids[::2]]
    assert api.request("POST", "/v1/rewards", batch)["accepted"] == len(batch)
    return ids


def test_a_kill_9_loses_nothing_answered_two_seconds_before_it(tmp_path: Path) -> None:
    port = free_port()
    with serve(tmp_path, port) as (server, api):
        api("PUT", "/v1/experiments/quick", QUICK)
        api.request("PATCH", "/v1/experiments/quick/exploration", {"epsilon": 0.3})
        before = answered(api, 300)
        time.sleep(1.5)  # the attribution windows close
        cycle = api("POST", "/v1/experiments/quick/train")
        assert cycle["status"] in ("active", "rejected"), cycle
        after = answered(api, 300)
        time.sleep(2.0)
        answered(api, 50)  # what the crash may lose
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    data = tmp_path / "mvt-data" / "mvt.sqlite3"
    assert data.is_file()
    with serve(tmp_path, port) as (_, api):  # the same command, the same folder
        experiment = api("GET", "/v1/experiments/quick")
        assert experiment["exploration"]["epsilon"] == 0.3
        assert [p["version"] for p in api("GET", "/v1/experiments/quick/policies")] == [cycle["version"]]
        assert len(api("GET", "/v1/experiments/quick/reports")) == 1
        actions = [a["action"] for a in api("GET", "/v1/audit?experiment=quick")]
        promoted = ["policy_promoted"] if cycle["status"] == "active" else []
        assert actions == ["train", *promoted, "set_exploration", "create"]
        assert api("GET", "/v1/experiments/home")["id"] == "home"  # seeded once, kept
    backend = sqlite.open_file(data)
    try:
        store = backend.store()
        missing = [e for e in before + after if store.events.get_decision(e) is None]
        assert missing == []
        rewarded = {e for e, _ in store.events.reward_ids()}
        assert set((before + after)[::2]) - rewarded == set()
    finally:
        backend.close()


def test_a_corrupt_database_file_is_one_line_at_start_and_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mvt_service import cli

    data = tmp_path / "mvt.sqlite3"
    data.write_bytes(b"this is not a database, and no store may replace it" * 100)
    monkeypatch.setenv("MVT_DATA_PATH", str(data))
    monkeypatch.setenv("MVT_SPOOL_DIR", str(tmp_path / "spool"))
    assert cli.main(["serve"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"mvt serve: cannot use the store at {data}: ") and "not a database" in line
    assert data.read_bytes().startswith(b"this is not a database")


def test_an_unwritable_database_folder_is_one_line_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mvt_service import cli

    (tmp_path / "file").write_text("")
    data = tmp_path / "file" / "mvt.sqlite3"  # its folder would have to be a file
    monkeypatch.setenv("MVT_DATA_PATH", str(data))
    monkeypatch.setenv("MVT_SPOOL_DIR", str(tmp_path / "spool"))
    assert cli.main(["serve"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"mvt serve: cannot use the store at {data}: ")


def test_serve_says_where_the_data_is_kept_or_that_it_is_temporary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mvt_service.cli.serving import check_store
    from mvt_service.settings import Settings

    check_store(Settings(_env_file=None, data_path=tmp_path / "data" / "mvt.sqlite3"))
    check_store(Settings(_env_file=None, data_path=None))
    assert capsys.readouterr().err.splitlines() == [
        f"mvt serve: the data is kept in {tmp_path / 'data' / 'mvt.sqlite3'} (MVT_DATA_PATH)",
        "mvt serve: MVT_DATA_PATH is empty: a temporary store, removed when it stops",
    ]
    assert (tmp_path / "data" / "mvt.sqlite3").is_file()
