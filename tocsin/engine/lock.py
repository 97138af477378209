"""SQLite: one engine per database file.

SQLite cannot skip rows another transaction holds, so two engines on one file would both claim
the same due rows and page twice. The engine therefore holds an exclusive, non-blocking ``flock``
on ``<database file>.engine.lock`` while it runs; a second engine (another process, or another
Engine object in this one: flock locks belong to the open file, not the process) fails to start
with ``EngineAlreadyRunning``. The kernel drops the lock when its holder exits, however it exits,
so a crashed engine never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class EngineAlreadyRunning(RuntimeError):
    pass


def lock_path(url: str) -> Path | None:
    """The lock file of a SQLite database URL; None for an in-memory database (one process only)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".engine.lock")


class EngineLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise EngineAlreadyRunning(
                f"another Tocsin engine (pid {holder}) already runs on this SQLite database "
                f"(it holds {self.path}). SQLite allows one engine per database: stop that one, or run "
                "this process without its engine (tocsin serve --no-engine).") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            # The file stays: removing it races with an engine starting now, which may already
            # hold the old file open and would then lock a file nobody else can find.
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None
