"""Local files of the log writer: the spool of records the store could not take (replayed into
it later), and the quarantine of records it never will.

Each process appends to its own spool file in the spool directory (``spool-<pid>-<id>.jsonl``)
and holds an exclusive ``flock`` on it while it lives; a file nobody holds belongs to a process
that died, and any process may replay and delete it. Each batch is appended as JSON lines and
fsync'd before :meth:`Spool.append` returns, so a spooled batch survives a crash of the process.
A crash in the middle of an append can leave a torn last line, which the replay quarantines: a
crash loses at most the batch being appended. Replaying is idempotent because every record
carries its own key (a decision's event id, a reward's ``(event_id, reward_id)``).

The quarantine (``quarantine-<pid>-<id>.jsonl``, never replayed) keeps each record the store
refused or a spool line that could not be replayed, with the error, for an operator to read.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


def _own_file(directory: Path, prefix: str) -> Path:
    return directory / f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"


class Spool:
    """This process's spool file in ``directory``, at most ``max_bytes``, and the files that
    dead processes left there."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = _own_file(self.directory, "spool")
        self._file: IO[bytes] = open(self.path, "ab")  # noqa: SIM115 (held, and locked, while the process lives)
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @property
    def size(self) -> int:
        """Bytes in this process's spool file (0 once closed)."""
        return 0 if self._file.closed else os.fstat(self._file.fileno()).st_size

    def append(self, lines: Sequence[bytes]) -> bool:
        """Append ``lines`` (JSON, without newlines) and fsync them; False, with nothing
        written, if they would not fit or the disk refuses them (full, read-only)."""
        data = b"".join(line + b"\n" for line in lines)
        before = self.size
        if before + len(data) > self.max_bytes:
            return False
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            log.error("the spool %s refused a write: %s", self.path, exc)
            self._cut(before)
            return False
        return True

    def _cut(self, size: int) -> None:
        """Drop a partly written append, so that no torn line sits between whole ones."""
        try:
            self._file.truncate(size)
        except OSError:
            log.exception("the spool %s could not be cut back to %d bytes", self.path, size)

    def clear(self) -> None:
        """Empty this process's spool file (after its records reached the store)."""
        self._file.truncate(0)
        os.fsync(self._file.fileno())

    def orphans(self) -> Iterator[tuple[Path, IO[bytes]]]:
        """Spool files of dead processes, each locked for the caller (who replays it, then
        deletes it with :func:`discard`)."""
        for path in sorted(self.directory.glob("spool-*.jsonl")):
            if path == self.path:
                continue
            try:
                f = open(path, "rb")  # noqa: SIM115 (handed, locked, to the caller)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its process is alive
                f.close()
                continue
            yield path, f

    def close(self) -> None:
        """Release this process's file, deleting it if it is empty."""
        if self.size == 0:
            self.path.unlink(missing_ok=True)
        self._file.close()


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a spool file with their numbers (from 1), without newlines."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                yield number, line.rstrip(b"\n")


def discard(path: Path, locked: IO[bytes]) -> None:
    """Delete a replayed orphan spool file and release its lock."""
    path.unlink(missing_ok=True)
    locked.close()


class Quarantine:
    """This process's quarantine file in ``directory``: one JSON line per record that can never
    be written, ``{"error": …, "record": …}``, opened at the first one."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = _own_file(self.directory, "quarantine")
        self._file: IO[str] | None = None

    def add(self, record: Any, error: str) -> bool:
        """Keep ``record`` (JSON-compatible, or text) with its ``error``; False if the disk
        refuses. Text that is not valid Unicode is kept as JSON escapes (``\\ud800``)."""
        line = json.dumps({"error": error, "record": record}, ensure_ascii=True, default=str)
        try:
            if self._file is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="ascii")  # noqa: SIM115 (kept open while the process lives)
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            log.exception("the quarantine %s refused a record", self.path)
            return False
        log.error("quarantined a record that can never be written (%s): %s", error, self.path)
        return True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
