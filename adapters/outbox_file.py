"""Appending JSON lines to the outbox durably, with group commit.

Every line is fsynced before its writer returns: a post the engine records as published is on
disk. An fsync costs milliseconds, so one per line would cap a burst at a few hundred posts a
second. Threads of a process that append at the same moment therefore share one write and one
fsync (group commit): the first becomes the leader and writes everyone's lines; the others wait
for it. Processes still exclude each other with ``flock``, and line numbers (post ids) stay
consecutive because they are assigned under that lock.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pathlib
import threading
from typing import Callable

Build = Callable[[int], dict]


@dataclasses.dataclass
class _Pending:
    build: Build
    record: dict | None = None
    error: BaseException | None = None
    done: bool = False


class LineFile:
    """One append-only JSON-lines file, shared by every adapter of the process that writes it."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._leader = False
        #: (file identity, bytes counted, lines counted): new lines are counted incrementally
        self._counted: tuple[tuple[int, int] | None, int, int] = (None, 0, 0)

    def append(self, build: Build) -> dict:
        """Append ``build(line_number)`` as one line; returns the record once it is on disk."""
        item = _Pending(build)
        with self._cond:
            self._pending.append(item)
            while not item.done:
                if self._leader:
                    self._cond.wait()
                    continue
                self._leader = True
                batch, self._pending = self._pending, []
                self._cond.release()
                try:
                    self._write(batch)
                finally:
                    self._cond.acquire()
                    self._leader = False
                    self._cond.notify_all()
        if item.error is not None:
            raise item.error
        assert item.record is not None
        return item.record

    def _write(self, batch: list[_Pending]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    count = self._count(handle)
                    lines = []
                    for item in batch:
                        try:
                            item.record = item.build(count + len(lines) + 1)
                            lines.append(json.dumps(item.record, ensure_ascii=False,
                                                    separators=(",", ":")) + "\n")
                        except Exception as exc:  # one bad record must not sink the others
                            item.error = exc
                    # one write() for the group: a reader never sees half a line but at a crash
                    handle.write("".join(lines).encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())
                    identity, _, _ = self._counted
                    self._counted = (identity, handle.tell(), count + len(lines))
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        except BaseException as exc:
            for item in batch:
                if item.error is None:
                    item.error, item.record = exc, None
            if not isinstance(exc, Exception):
                raise
        finally:
            for item in batch:
                item.done = True

    def _count(self, handle) -> int:
        """Lines in the file, counting only what was appended since the last look (by this or
        another process); from the start if the file was replaced or truncated."""
        stat = os.fstat(handle.fileno())
        identity = (stat.st_dev, stat.st_ino)
        known, offset, count = self._counted
        if known != identity or stat.st_size < offset:
            offset, count = 0, 0
        handle.seek(offset)
        count += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        self._counted = (identity, handle.tell(), count)
        return count


_FILES: dict[str, LineFile] = {}
_FILES_LOCK = threading.Lock()


def line_file(path: pathlib.Path) -> LineFile:
    """The process-wide writer of ``path``."""
    key = str(path.resolve())
    with _FILES_LOCK:
        if key not in _FILES:
            _FILES[key] = LineFile(pathlib.Path(key))
        return _FILES[key]
