"""The command line's status line and log lines never share a line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from mvt_service.cli.status import ERASE, StatusLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """The root logger writing to a fake terminal, as `mvt`'s logging.basicConfig sets it up."""
    stream = Terminal()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield logging.getLogger("mvt.test"), stream
    finally:
        root.removeHandler(handler)


def test_a_log_line_erases_the_status_and_the_status_comes_back(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger
    with StatusLine(stream) as status:
        status.show("visitors 4,000/20,000")
        log.warning("a cycle ran")
        status.show("visitors 5,000/20,000")
    lines = stream.getvalue().split("\n")
    assert lines[0] == f"{ERASE}visitors 4,000/20,000{ERASE}WARNING a cycle ran"
    assert lines[1] == f"{ERASE}visitors 4,000/20,000{ERASE}visitors 5,000/20,000"
    assert lines[2:] == [""]  # the status ends with its own line when the work is done
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert any(h.stream is stream for h in handlers)  # the handler's own stream is restored


def test_without_a_terminal_each_status_is_a_line_of_its_own(logger: tuple[logging.Logger, io.StringIO]) -> None:
    stream = io.StringIO()
    with StatusLine(stream) as status:
        status.show("visitors 1,000/2,000")
        status.show("visitors 1,000/2,000")  # unchanged: not repeated
        status.show("visitors 2,000/2,000: training cycle 1…")
    assert stream.getvalue() == "visitors 1,000/2,000\nvisitors 2,000/2,000: training cycle 1…\n"
