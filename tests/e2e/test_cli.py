"""The command line: train, search and trainer, on MongoDB (stood in for by the embedded store) and via
a running service."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from mvt_service import cli
from mvt_service.cli import common
from policy.experiment import PromotionSettings, RewardSettings, TrainingSettings
from policy.learning import SearchSettings
from policy.records import utcnow
from store.repositories import Backend, Store
from tests import factories

EXPERIMENT = {**factories.THREE_ARMS, "training": {"min_events": 100, "interval_seconds": 600}}


def RECENT() -> datetime:
    """Two hours ago: the commands read the real clock, so their traffic is dated by it (closed
    windows, inside the lookback)."""
    return utcnow() - timedelta(hours=2)


@pytest.fixture
def mongo(shared_backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Commands that need MongoDB get the shared embedded database instead."""
    monkeypatch.setenv("MVT_MONGO_URI", "mongodb://db.invalid:27017")
    monkeypatch.setattr(common, "open_backend", lambda settings: shared_backend)
    store = shared_backend.store()
    store.backend.ensure_schema()
    store.experiments.put(
        factories.experiment(
            reward=RewardSettings(window_seconds=60),
            training=TrainingSettings(
                min_events=100, interval_seconds=600, search=SearchSettings(learning_rates=(0.1,))
            ),
            promotion=PromotionSettings(min_events=50),
        )
    )
    return store


def test_train_on_mongodb_prints_the_cycle(mongo: Store, capsys: pytest.CaptureFixture) -> None:
    factories.log_uniform_traffic(mongo, 13_000, ts=RECENT())
    assert cli.main(["train", "--experiment", "exp"]) == 0
    out, err = capsys.readouterr()
    assert "status      active: superiority: learner − serving = " in out
    assert (
        "examples    13,000 of 13,000 decisions; 13,000 learned, each scored by a version that had not learned it"
        in out
    )
    assert "trained 10,000 examples" in err
    assert mongo.experiments.get("exp").active_policy == 1


def test_search_on_mongodb_prints_every_setting(mongo: Store, capsys: pytest.CaptureFixture) -> None:
    factories.log_uniform_traffic(mongo, 1000, ts=RECENT())
    assert cli.main(["search", "--experiment", "exp"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("3 blocks in time of 1,000 sampled training events")
    assert out[1].split() == ["settings", "passes", "dr", "interval", "seconds", "status"]
    rows = out[2:]
    assert len(rows) == 1 + 1 + 2 + 1 + 1 + 2 + 1  # the configured start; 1 rate, 2 estimators, AA, l2, 2 clips, passes
    assert sum(row.startswith("*") for row in rows) == 1 and mongo.policies.list("exp") == []


def test_search_via_a_running_service(live_server: str, shared_backend: Backend, capsys: pytest.CaptureFixture) -> None:
    cli.call_api(live_server, "PUT", "/v1/experiments/exp", EXPERIMENT)
    factories.log_uniform_traffic(shared_backend.store(), 600, ts=RECENT())
    assert cli.main(["search", "--experiment", "exp", "--url", live_server]) == 0
    assert "3 blocks in time of 600 sampled training events" in capsys.readouterr().out


def test_trainer_once_runs_due_cycles(mongo: Store) -> None:
    factories.log_uniform_traffic(mongo, 300, ts=RECENT())
    assert cli.main(["trainer", "--once"]) == 0
    assert mongo.experiments.get("exp").active_policy == 1
    assert cli.main(["trainer", "--once"]) == 0  # not due again yet
    assert [p.version for p in mongo.policies.list("exp")] == [1]


def test_train_via_a_running_service(live_server: str, shared_backend: Backend, capsys: pytest.CaptureFixture) -> None:
    cli.call_api(live_server, "PUT", "/v1/experiments/exp", EXPERIMENT)
    factories.log_uniform_traffic(shared_backend.store(), 300, ts=RECENT())
    assert cli.main(["train", "--experiment", "exp", "--url", live_server]) == 0
    assert "version     1" in capsys.readouterr().out


def test_errors_say_what_to_do(live_server: str, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    monkeypatch.delenv("MVT_MONGO_URI", raising=False)
    assert cli.main(["train", "--experiment", "exp"]) == 2
    assert "set MVT_MONGO_URI" in capsys.readouterr().err
    assert cli.main(["train", "--experiment", "nope", "--url", live_server]) == 2
    assert "404 experiment `nope` does not exist" in capsys.readouterr().err
    assert cli.main(["train", "--experiment", "x", "--url", "http://127.0.0.1:9"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_unknown_experiment_on_mongodb(mongo: Store, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["train", "--experiment", "nope"]) == 2
    assert "experiment `nope` does not exist" in capsys.readouterr().err


def test_replay_prints_the_report_and_writes_html(
    live_server: str, shared_backend: Backend, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    cli.call_api(live_server, "PUT", "/v1/experiments/exp", EXPERIMENT)
    factories.log_uniform_traffic(shared_backend.store(), 1000, ts=RECENT())
    cli.call_api(live_server, "POST", "/v1/experiments/exp/train")
    page = tmp_path / "report.html"
    assert cli.main(["replay", "--experiment", "exp", "--url", live_server, "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "learner v1 (greedy)" in out and "Promoted: learner v1" in out
    assert "<svg" in page.read_text()


def test_export_via_a_running_service(live_server: str, shared_backend: Backend, tmp_path) -> None:
    cli.call_api(live_server, "PUT", "/v1/experiments/exp", EXPERIMENT)
    factories.log_uniform_traffic(shared_backend.store(), 50, ts=RECENT())
    target = tmp_path / "log.dsjson"
    assert cli.main(["export", "--experiment", "exp", "--url", live_server, "--output", str(target)]) == 0
    assert len(target.read_text().splitlines()) == 50


def test_export_on_mongodb(mongo: Store, capsysbinary: pytest.CaptureFixture) -> None:
    factories.log_uniform_traffic(mongo, 30, ts=RECENT())
    assert cli.main(["export", "--experiment", "exp"]) == 0
    assert len(capsysbinary.readouterr().out.splitlines()) == 30


def test_export_with_nothing_to_export_says_so_and_fails(
    mongo: Store, live_server: str, capsysbinary: pytest.CaptureFixture
) -> None:
    assert cli.main(["export", "--experiment", "exp"]) == 1
    out, err = capsysbinary.readouterr()
    assert out == b"" and b"nothing to export: no decision of `exp` has a closed attribution window" in err
    cli.call_api(live_server, "PUT", "/v1/experiments/fresh", EXPERIMENT)
    assert cli.main(["export", "--experiment", "fresh", "--url", live_server]) == 1


def test_replay_estimate_on_one_event_prints_json_with_null_for_unbounded_intervals(
    tmp_path, capsys: pytest.CaptureFixture
) -> None:
    logs = tmp_path / "events.jsonl"
    logs.write_text('{"action": "a", "probability": 0.5, "reward": 1, "target": {"a": 1}}\n')
    assert cli.main(["replay", "estimate", "--logs", str(logs)]) == 0

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    out = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert out["ips"]["value"] == 2.0 and out["ips"]["low"] is None


def test_simulate_refuses_to_replace_an_experiment_without_replace(live_server: str, capsys) -> None:
    cli.call_api(live_server, "PUT", "/v1/experiments/shop", EXPERIMENT)
    assert cli.main(["simulate", "--url", live_server, "--visitors", "10"]) == 2
    assert "experiment `shop` exists" in capsys.readouterr().err
    assert cli.call_api(live_server, "GET", "/v1/experiments/shop")["arms"][0]["id"] == "a"  # untouched


def test_replay_estimate(tmp_path, capsys: pytest.CaptureFixture) -> None:
    logs = tmp_path / "events.jsonl"
    logs.write_text(
        '{"action": "a", "probability": 0.5, "reward": 1, "target": {"a": 1}}\n'
        '{"action": "b", "probability": 0.5, "reward": 0, "target": {"a": 1}}\n'
    )
    assert cli.main(["replay", "estimate", "--logs", str(logs)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ips"]["value"] == 1.0 and out["n"] == 2 and out["ess"] == 1.0
    assert set(out) == {"ips", "snips", "dr", "n", "ess", "max_weight", "confidence"}
    logs.write_text('{"action": "a"}\n')
    assert cli.main(["replay", "estimate", "--logs", str(logs)]) == 2
    assert "line 1: `probability` is missing" in capsys.readouterr().err


@pytest.fixture
def keyed_server(settings, shared_backend: Backend, monkeypatch: pytest.MonkeyPatch):
    """A live server with keys; the CLI holds the operator key."""
    from mvt_service.app import create_app
    from mvt_service.cli.serving import serving

    monkeypatch.setenv("MVT_API_KEY", "op-key")
    keyed = settings.model_copy(update={"client_keys": "client-key", "operator_keys": "op-key"})
    with serving(create_app(keyed, backend=shared_backend)) as url:
        yield url


def test_operator_commands(keyed_server: str, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    url = ["--url", keyed_server]
    assert cli.main(["experiments", "list", *url]) == 0
    out = capsys.readouterr().out
    header = ["experiment", "arms", "epsilon", "candidate", "share", "holdout", "paused", "policy", "candidate"]
    assert out.splitlines()[0].split() == [*header, "revision"]
    assert out.splitlines()[1].split() == ["home", "12/12", "0.2", "0.5", "0.0", "no", "-", "-", "1"]

    assert cli.main(["experiments", "set-epsilon", "home", "0.05", *url]) == 0
    assert "exploration epsilon 0.05 (candidate share 0.5)" in capsys.readouterr().out
    assert cli.main(["experiments", "set-candidate-share", "home", "0.25", *url]) == 0
    assert "exploration epsilon 0.05 (candidate share 0.25)" in capsys.readouterr().out
    assert cli.main(["experiments", "pause", "home", *url]) == 0
    assert "PAUSED" in capsys.readouterr().out
    assert cli.main(["experiments", "resume", "home", *url]) == 0
    arm = "hero=small,cta=blue,headline=value"
    assert cli.main(["experiments", "disable-arm", "home", arm, *url]) == 0
    shown = capsys.readouterr().out
    assert any(line.split()[:2] == [arm, "no"] for line in shown.splitlines())
    assert cli.main(["experiments", "enable-arm", "home", arm, *url]) == 0
    assert cli.main(["experiments", "show", "home", *url]) == 0
    assert "revision 7" in capsys.readouterr().out

    assert cli.main(["experiments", "activate", "home", "3", *url]) == 2
    assert "policy v3 of experiment `home` does not exist" in capsys.readouterr().err
    monkeypatch.setenv("MVT_API_KEY", "client-key")
    assert cli.main(["experiments", "pause", "home", *url]) == 2
    assert "403 this needs the `operator` role" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["set-epsilon", "home", "abc"],
            "epsilon must be a number from 0 to 1, e.g. `mvt experiments set-epsilon home 0.1`; got 'abc'",
        ),
        (["set-epsilon", "home", "1.5"], "epsilon must be a number from 0 to 1"),
        (["set-epsilon", "home", "nan"], "epsilon must be a number from 0 to 1"),
        (["set-epsilon", "home"], "got nothing"),
        (
            ["set-candidate-share", "home", "2"],
            "candidate share must be a number from 0 to 1, e.g. "
            "`mvt experiments set-candidate-share home 0.5`; got '2'",
        ),
        (["pause", "home", "extra"], "`mvt experiments pause` takes an experiment id only, got also 'extra'"),
        (["resume", "home", "extra"], "`mvt experiments resume` takes an experiment id only"),
    ],
)
def test_an_operator_mistake_is_one_line_and_status_2_before_anything_is_sent(
    args: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    # port 9 answers nothing: the mistake must be found before any request
    assert cli.main(["experiments", *args, "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["70000", "0", "abc", "-1"])
def test_a_port_out_of_range_is_a_usage_error(value: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(["serve", "--port", value])
    assert exit.value.code == 2
    assert f"argument --port: must be a port number from 1 to 65535, got {value!r}" in capsys.readouterr().err


def test_a_bad_setting_in_the_environment_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("MVT_PORT", "abc")
    monkeypatch.setenv("MVT_RELOAD_SECONDS", "-1")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "mvt serve: MVT_PORT='abc': Input should be a valid integer, unable to parse string as an integer; "
        "MVT_RELOAD_SECONDS='-1': Input should be greater than 0"
    ]


def test_a_spool_dir_that_is_a_file_is_one_line_before_serving(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "spool").write_text("")
    monkeypatch.setenv("MVT_SPOOL_DIR", str(tmp_path / "spool"))
    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"mvt serve: MVT_SPOOL_DIR={str(tmp_path / 'spool')!r} cannot be used (it is a file): it must be a "
        "directory this process can write (the log's spool)"
    ]


def test_an_unreachable_mongodb_is_one_line_before_serving(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("MVT_MONGO_URI", "mongodb://127.0.0.1:9")  # port 9 answers nothing
    assert cli.main(["serve"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("mvt serve: cannot reach MongoDB at MVT_MONGO_URI: 127.0.0.1:9")
