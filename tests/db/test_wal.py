"""SQLite's WAL checkpoints (``tocsin.db.wal``): the background writer never checkpoints inside a
commit, so never while it holds the write turn the group commit waits for; it checkpoints after
handing the turn back, once it has changed enough rows; other connections keep a backstop."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from tocsin.db.session import Database
from tocsin.db.wal import BACKSTOP_PAGES, CHECKPOINT_ROWS, checkpoint_due
from tocsin.teams.models import Team


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "wal.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def test_a_checkpoint_is_due_after_enough_rows_since_the_last() -> None:
    assert not checkpoint_due(CHECKPOINT_ROWS - 1, 0)
    assert checkpoint_due(CHECKPOINT_ROWS, 0)
    assert not checkpoint_due(CHECKPOINT_ROWS + 10, 20)
    assert checkpoint_due(2 * CHECKPOINT_ROWS, CHECKPOINT_ROWS)
    # A new connection counts from zero again: its count is below the last checkpoint's.
    assert not checkpoint_due(10, 5 * CHECKPOINT_ROWS)
    assert checkpoint_due(CHECKPOINT_ROWS, 5 * CHECKPOINT_ROWS)


def _teams(start: int, count: int) -> list[dict[str, object]]:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    return [{"id": f"PTEAM{n:07}", "name": f"team {n}", "created_at": now, "updated_at": now}
            for n in range(start, start + count)]


async def test_the_writer_never_checkpoints_in_a_commit_and_the_others_keep_a_backstop(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        found = await db.in_writer_thread(
            lambda session, _: session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())
        assert found == 0
        async with db.transaction() as session:
            assert (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == BACKSTOP_PAGES
    finally:
        await db.dispose()


async def test_the_writer_checkpoints_after_handing_back_the_turn(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = Database(sqlite_url)
    try:
        db.writer  # noqa: B018  # made on first use, with its checkpoints
        checkpoints = db._checkpoints
        assert checkpoints is not None
        turn_held: list[bool] = []
        run = checkpoints.run

        def watched() -> None:
            turn_held.append(db._write_turn.locked())
            run()

        monkeypatch.setattr(checkpoints, "run", watched)  # a spy on this one instance

        async def insert_teams(start: int, count: int) -> None:
            await db.in_writer_thread(lambda session, _: session.execute(insert(Team), _teams(start, count)))

        quarter = CHECKPOINT_ROWS // 4
        for n in range(3):  # three quarters of a checkpoint's rows: none yet
            await insert_teams(n * quarter, quarter)
        assert turn_held == []
        await insert_teams(3 * quarter, CHECKPOINT_ROWS - 3 * quarter)
        assert turn_held == [False]  # due, and run once the turn was free
        await insert_teams(CHECKPOINT_ROWS, 1)
        assert turn_held == [False]  # counted from the last checkpoint
        await insert_teams(CHECKPOINT_ROWS + 1, CHECKPOINT_ROWS)
        assert turn_held == [False, False]
        assert checkpoints.runs == 2
    finally:
        await db.dispose()
