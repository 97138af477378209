"""SQLite: one engine per database file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.clock import FrozenClock
from tocsin.db.session import Database
from tocsin.engine.lock import EngineAlreadyRunning, lock_path
from tocsin.engine.loop import Engine
from tocsin.engine.metrics import EngineMetrics

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def engine_on(db: Database) -> Engine:
    return Engine(db, FrozenClock(T0).now, [], EngineMetrics())


async def test_a_second_engine_on_the_same_file_refuses_to_start(sqlite_db: Database) -> None:
    other_db = Database(sqlite_db.url)
    first, second = engine_on(sqlite_db), engine_on(other_db)
    first.start()
    try:
        refusal = r"another Tocsin engine \(pid \d+\) already runs on this SQLite"
        with pytest.raises(EngineAlreadyRunning, match=refusal):
            second.start()
        assert not second.running
    finally:
        await first.stop()
    second.start()  # the first is gone: its lock went with it
    assert second.running
    await second.stop()
    await other_db.dispose()


def test_the_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    assert lock_path(f"sqlite:///{tmp_path}/tocsin.db") == tmp_path / "tocsin.db.engine.lock"
    assert lock_path("sqlite:///:memory:") is None
    assert lock_path("sqlite://") is None
