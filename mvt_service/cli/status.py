"""A status line on standard error that log lines do not run into.

On a terminal the line is redrawn in place (``\\r``, then erase to the end of the line); before
any log record is written it is erased, and drawn again after, so ``visitors 4,000/20,000`` and
``… INFO trainer.cycle: …`` never share a line. Elsewhere (a pipe, a CI log) each new status is
a line of its own.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import Any, TextIO

ERASE = "\r\x1b[K"


class StatusLine:
    """Use as a context manager around the work it reports on; :meth:`show` sets the text."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._text = ""
        self._shown = False
        self._handlers: list[tuple[logging.StreamHandler[Any], Any]] = []

    def show(self, text: str) -> None:
        """Replace the status with ``text``."""
        if text == self._text:
            return
        self._text = text
        if self._tty:
            self._draw()
        else:
            print(text, file=self._stream, flush=True)

    def _draw(self) -> None:
        if self._tty and self._text:
            self._stream.write(ERASE + self._text)
            self._stream.flush()
            self._shown = True

    def _erase(self) -> None:
        if self._shown:
            self._stream.write(ERASE)
            self._shown = False

    def __enter__(self) -> StatusLine:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
                self._handlers.append((handler, handler.setStream(_Around(self._stream, self))))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._text = ""  # restoring a handler's stream flushes the wrapper: nothing to draw again
        for handler, stream in self._handlers:
            handler.setStream(stream)
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False


class _Around:
    """The stream a log handler writes to while a status line is shown: each record erases the
    line first and draws it again once flushed."""

    def __init__(self, stream: TextIO, line: StatusLine) -> None:
        self._stream, self._line = stream, line

    def write(self, text: str) -> int:
        self._line._erase()
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()
        self._line._draw()
