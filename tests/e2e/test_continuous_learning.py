"""Continuous learning through the HTTP API: a continued learner learns only the new decisions
and is promoted when it is not worse; a learner of rewards that do not depend on the layout is
never promoted; after a change of tastes the service stops serving the stale policy."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient

from mvt_service.app import create_app
from mvt_service.settings import Settings
from store.repositories import Backend
from tests.e2e.test_training_loop import EXPERIMENT, wait_written
from tests.helpers import TickingClock

TASTES = {"mobile": "hero=small,cta=green", "desktop": "hero=big,cta=blue"}
CHANGED = {"mobile": "hero=big,cta=blue", "desktop": "hero=small,cta=green"}


def visitors(client: TestClient, clock: TickingClock, n: int, rng: random.Random, best: dict[str, str] | None) -> None:
    """``n`` visitors, clicking with probability 0.7 on their device's ``best`` layout and 0.1 on
    the others (always 0.3 when ``best`` is None: the layout does not matter); then the log is
    written and every attribution window closes."""
    answers, clicks = [], []
    for i in range(n):
        device = rng.choice(list(TASTES))
        answer = client.post("/v1/decisions", json={"experiment": "shop", "context": {"device": device}}).json()
        answers.append(answer)
        chance = 0.3 if best is None else 0.7 if answer["action"] == best[device] else 0.1
        if rng.random() < chance:
            clicks.append({"event_id": answer["event_id"], "reward": 1.0})
        if clicks and (i % 25 == 24 or i == n - 1):
            assert client.post("/v1/rewards", json=clicks).status_code == 202
            clicks = []
    wait_written(client, answers)
    clock.advance(3)


def served_best_share(client: TestClient, best: dict[str, str], per_device: int = 25) -> float:
    """Share of greedy answers that are the device's best layout."""
    hits = 0
    for device in best:
        for _ in range(per_device):
            answer = client.post(
                "/v1/decisions", json={"experiment": "shop", "context": {"device": device}, "explore": False}
            ).json()
            hits += answer["action"] == best[device]
    return hits / (per_device * len(best))


def test_a_continued_learner_learns_only_new_decisions_and_is_promoted_when_not_worse(
    shared_backend: Backend, settings: Settings
) -> None:
    rng, clock = random.Random(3), TickingClock()
    with TestClient(create_app(settings, backend=shared_backend, clock=clock)) as client:
        assert client.put("/v1/experiments/shop", json=EXPERIMENT).status_code == 201
        visitors(client, clock, 1500, rng, TASTES)
        first = client.post("/v1/experiments/shop/train").json()
        assert (first["status"], first["mode"], first["events"]) == ("active", "new", 1500), first

        for cycle in range(2, 5):
            visitors(client, clock, 1000, rng, TASTES)
            update = client.post("/v1/experiments/shop/train").json()
            # the work of a cycle is the new decisions: the join reads no older one
            assert (update["mode"], update["events"], update["join"]["decisions"]) == ("continued", 1000, 1000)
            assert update["version"] == cycle and update["reason"].startswith("non-inferiority")
            record = next(p for p in client.get("/v1/experiments/shop/policies").json() if p["version"] == cycle)
            assert (record["metrics"]["parent"], record["metrics"]["rule"]) == (cycle - 1, "non-inferiority")
            shop = client.get("/v1/experiments/shop").json()
            if cycle == 2:  # it continues the serving policy, and no candidate was offered: judged from now on
                assert (update["status"], shop["candidate_policy"]) == ("rejected", 2), update
            else:  # the candidate, judged as it was offered, serves; the learner that continues it is offered
                assert (update["status"], record["metrics"]["judged"]) == ("active", cycle - 1), update
                assert (shop["active_policy"], shop["candidate_policy"]) == (cycle - 1, cycle)
        assert served_best_share(client, TASTES) >= 0.9


def test_a_learner_of_rewards_that_ignore_the_layout_is_never_promoted(
    shared_backend: Backend, settings: Settings
) -> None:
    rng, clock = random.Random(4), TickingClock()
    with TestClient(create_app(settings, backend=shared_backend, clock=clock)) as client:
        client.put("/v1/experiments/shop", json=EXPERIMENT)
        for _ in range(3):
            visitors(client, clock, 1000, rng, None)
            cycle = client.post("/v1/experiments/shop/train").json()
            assert cycle["status"] == "rejected" and cycle["reason"].startswith("superiority"), cycle
        assert client.get("/v1/experiments/shop").json()["active_policy"] is None


def test_after_a_change_of_tastes_the_served_policy_follows_within_two_cycles(
    shared_backend: Backend, settings: Settings
) -> None:
    rng, clock = random.Random(5), TickingClock()
    with TestClient(create_app(settings, backend=shared_backend, clock=clock)) as client:
        client.put("/v1/experiments/shop", json=EXPERIMENT)
        visitors(client, clock, 1500, rng, TASTES)
        assert client.post("/v1/experiments/shop/train").json()["status"] == "active"
        assert served_best_share(client, TASTES) >= 0.9

        serving = []
        for _ in range(2):
            visitors(client, clock, 1000, rng, CHANGED)
            client.post("/v1/experiments/shop/train")
            serving.append(client.get("/v1/experiments/shop").json()["active_policy"])
        assert serving[-1] != 1, serving  # v1 was retired or replaced, and the change audited
        changes = [e["after"] for e in client.get("/v1/audit").json() if e["before"] == {"active_policy": 1}]
        assert any(c.get("status", "retired") in ("active", "retired") for c in changes), changes
        assert served_best_share(client, CHANGED) >= 0.9  # what serves now follows the new tastes
