"""A Python client for back ends: decisions, rewards and activations, safe to retry.

    from mvt_service.client import Client

    mvt = Client("https://mvt.internal", key="client-key")
    decision = mvt.decide("home", {"device": "mobile"}, default="hero=big,cta=green,headline=value")
    render(decision.action)                      # decision.event_id travels with the order
    mvt.reward(decision.event_id, 49.90)         # later, from the order back end

Only the standard library is used. Every call is idempotent, so every call is retried on a
connection failure or a 502/503/504 (with exponential back-off): a decision carries an
``event_id`` the client chooses (a retry gets the first answer back, on any worker), a reward is
stored once per ``(event_id, reward_id)``, an activation once per event. A 4xx is raised at
once as :class:`ApiError`, with the service's problem ``detail``.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RETRIED = frozenset({502, 503, 504})


class ApiError(Exception):
    """The service answered ``status`` (a problem+json ``detail``), or, with status 0, could
    not be reached."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}" if status else detail)
        self.status = status
        self.detail = detail


class Connection:
    """A keep-alive HTTP connection to an mvt service, sending ``key`` as a bearer token. Not
    thread-safe: one connection per thread."""

    def __init__(self, url: str, key: str | None = None, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._prefix = parts.path.rstrip("/")
        connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connection = connection(parts.hostname, parts.port, timeout=timeout)
        self._key = key

    def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> http.client.HTTPResponse:
        """Send one request; return the response of a status below 400, unread.

        Raises
        ------
        ApiError
            The service answered 400 or more (read from its problem ``detail``), or could not be
            reached (status 0).
        """
        sent = {"content-type": "application/json", **(headers or {})}
        if self._key:
            sent["authorization"] = f"Bearer {self._key}"
        data = None if body is None else json.dumps(body).encode()
        try:
            self._connection.request(method, self._prefix + path, body=data, headers=sent)
            response = self._connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._connection.close()
            raise ApiError(0, f"cannot reach {self.url}: {exc}") from exc
        if response.status >= 400:
            raw = response.read()
            try:
                detail = str(json.loads(raw).get("detail", response.reason))
            except (ValueError, AttributeError):
                detail = response.reason
            raise ApiError(response.status, detail)
        return response

    def json(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """:meth:`request`, and the answer's JSON."""
        return json.loads(self.request(method, path, body, headers).read())

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class Decision:
    """The layout to show. ``event_id`` is None when the service could not answer and
    ``action`` is the caller's ``default`` (nothing was logged: there is nothing to reward)."""

    action: str
    event_id: str | None
    probability: float | None = None
    policy_version: int | None = None
    explored: bool = False

    @property
    def fallback(self) -> bool:
        return self.event_id is None


class Client:
    """Decisions, rewards and activations with retries (see the module).

    Parameters
    ----------
    url
        The service, e.g. ``http://127.0.0.1:8000``.
    key
        A client API key (``MVT_CLIENT_KEYS``).
    timeout
        Seconds one attempt may take.
    attempts
        Attempts per call (the first and its retries).
    backoff
        Seconds before the first retry; each further one waits twice as long.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        backoff: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._connection = Connection(url, key, timeout)
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep

    def decide(
        self,
        experiment: str,
        context: Mapping[str, Any] | None = None,
        *,
        visitor: str | None = None,
        actions: Sequence[str] | None = None,
        event_id: str | None = None,
        defer_activation: bool = False,
        default: str | None = None,
    ) -> Decision:
        """The arm to show for ``context``. With ``default``, a service that cannot answer
        (after every attempt, or with a 4xx) gives ``Decision(default, None)`` instead of an
        error, so the page is always served."""
        body: dict[str, Any] = {
            "experiment": experiment,
            "context": dict(context or {}),
            "event_id": event_id or uuid.uuid4().hex,  # the same id in every retry: one decision
            "defer_activation": defer_activation,
        }
        if visitor is not None:
            body["visitor"] = visitor
        if actions is not None:
            body["actions"] = list(actions)
        try:
            answer = self._retried("POST", "/v1/decisions", body)
        except ApiError:
            if default is None:
                raise
            return Decision(default, None)
        return Decision(
            answer["action"], answer["event_id"], answer["probability"], answer["policy_version"], answer["explored"]
        )

    def reward(self, event_id: str, value: float, reward_id: str | None = None) -> None:
        """Post the reward of a decision (a click 1.0, an order's value); ``reward_id`` tells
        several rewards of one decision apart."""
        self.rewards([{"event_id": event_id, "reward": value, **({"reward_id": reward_id} if reward_id else {})}])

    def rewards(self, batch: Sequence[Mapping[str, Any]]) -> None:
        """Post a batch of reward events (``event_id``, ``reward``, optional ``reward_id``)."""
        self._retried("POST", "/v1/rewards", list(batch))

    def activate(self, event_id: str) -> None:
        """Record that a deferred decision's layout was shown."""
        self._retried("POST", f"/v1/decisions/{urllib.parse.quote(event_id, safe='')}/activate")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _retried(self, method: str, path: str, body: Any = None) -> Any:
        wait = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                return self._connection.json(method, path, body)
            except ApiError as exc:
                if attempt == self._attempts or (exc.status and exc.status not in RETRIED):
                    raise
            self._sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")
