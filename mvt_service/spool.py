"""A local, append-only spool of log records the store could not take, replayed into it later.

Each process appends to its own file in the spool directory (``spool-<pid>-<id>.jsonl``) and
holds an exclusive ``flock`` on it while it lives; a file nobody holds belongs to a process
that died, and any process may replay and delete it. Each batch is appended as JSON lines and
fsync'd before :meth:`Spool.append` returns, so a spooled batch survives a crash of the process.
A crash in the middle of an append can leave a torn last line, which reading skips: a crash
loses at most the batch being appended. Replaying is idempotent because every record carries
its own key (a decision's event id, a reward's ``(event_id, reward_id)``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

log = logging.getLogger(__name__)


class Spool:
    """This process's spool file in ``directory``, at most ``max_bytes``, and the files that
    dead processes left there."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"spool-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._file: IO[bytes] = open(self.path, "ab")  # noqa: SIM115 (held, and locked, while the process lives)
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @property
    def size(self) -> int:
        """Bytes in this process's spool file (0 once closed)."""
        return 0 if self._file.closed else os.fstat(self._file.fileno()).st_size

    def append(self, records: Sequence[dict[str, Any]]) -> bool:
        """Append ``records`` and fsync them; False (nothing written) if they would not fit."""
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        if self.size + len(data) > self.max_bytes:
            return False
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        return True

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


def read_batches(path: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    """The records of a spool file in order, ``size`` at a time; torn or corrupt lines are
    skipped and logged."""
    batch: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                batch.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                log.warning("spool %s: line %d is torn or corrupt; skipped", path, number)
                continue
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def discard(path: Path, locked: IO[bytes]) -> None:
    """Delete a replayed orphan spool file and release its lock."""
    path.unlink(missing_ok=True)
    locked.close()
