"""Where a simulation's time comes from.

A simulation against an embedded service runs on :class:`SimulatedTime`, which is also the
service's clock: visitors arrive at fixed simulated intervals, rewards after simulated delays,
attribution windows close when simulated time says so, and nothing waits. Every stamp the
service writes is then a function of the seed alone, so a seed reproduces its figures exactly,
and a run takes only the time its work takes. A service elsewhere (``--url``) keeps its own
time: :class:`WallTime` waits for real.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

START = datetime(2026, 1, 1, tzinfo=UTC)
"""When a simulated run starts."""
VISITOR_SECONDS = 0.01
"""Simulated seconds between two visitors: 100 page views a second."""


class Timeline(Protocol):
    reproducible: bool
    """Whether a run on this time gives the same figures for the same seed."""

    def now(self) -> float:
        """Seconds since the run started."""

    def wait_until(self, seconds: float) -> None:
        """Let time pass until ``seconds`` (no time if it has passed)."""

    def next_visitor(self) -> None:
        """Let the time between two visitors pass."""


class SimulatedTime:
    """Simulated time (see the module); :meth:`clock` is the embedded service's clock.

    Visitors are :data:`VISITOR_SECONDS` apart, so no two decisions share a stamp (stored to
    the millisecond): the trainer's order, by ``(decision time, event id)``, is the visitors'
    order, and never falls to the random event id."""

    reproducible = True

    def __init__(self, start: datetime = START, visitor_seconds: float = VISITOR_SECONDS) -> None:
        self._start = start
        self._visitor_seconds = visitor_seconds
        self._seconds = 0.0

    def now(self) -> float:
        return self._seconds

    def wait_until(self, seconds: float) -> None:
        self._seconds = max(self._seconds, seconds)

    def next_visitor(self) -> None:
        self._seconds += self._visitor_seconds

    def clock(self) -> datetime:
        """The simulated time as a timezone-aware UTC datetime."""
        return self._start + timedelta(seconds=self._seconds)


class WallTime:
    """The wall clock: waiting sleeps, and visitors come as fast as the service answers.
    How many decisions a cycle finds closed then depends on the machine's speed."""

    reproducible = False

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def wait_until(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds - self.now()))

    def next_visitor(self) -> None:
        pass
