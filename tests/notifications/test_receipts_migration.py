"""Migration 0020 carries receipts waiting to be recorded (an engine died between a provider's
answer and the recording) from one row per notification to one row per message, and back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import JSON, String, column, insert, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Harness
from tocsin.db.base import UTCDateTime, table_of
from tocsin.db.migrate import alembic_config
from tocsin.notifications.models import MessageReceipt

AT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
_PER_ROW = table("notification_receipts", column("notification_id", String()), column("accepted_at", UTCDateTime()),
                 column("provider_response", JSON()), column("bundle", String()))


async def _migrate(h: Harness, conn: AsyncConnection, step: Any, revision: str) -> None:
    await conn.run_sync(lambda sync: step(alembic_config(h.db_url, sync), revision))


async def test_waiting_receipts_survive_the_upgrade_and_the_downgrade(harness: Harness) -> None:
    async with harness.tocsin.db.engine.begin() as conn:
        await _migrate(harness, conn, command.downgrade, "0019")
        await conn.execute(insert(_PER_ROW), [
            {"notification_id": "PA", "accepted_at": AT, "provider_response": {"code": 250}, "bundle": None},
            {"notification_id": "PB", "accepted_at": AT, "provider_response": None, "bundle": "PB"}])
        await _migrate(harness, conn, command.upgrade, "head")
        found = {r.id: (r.notification_ids, r.accepted_at, r.provider_response, r.bundle)
                 for r in (await conn.execute(select(table_of(MessageReceipt)))).all()}
        assert found == {"PA": (["PA"], AT, {"code": 250}, None), "PB": (["PB"], AT, None, "PB")}

        # A message of two rows goes back as a receipt for each of them.
        await conn.execute(insert(table_of(MessageReceipt)), {"id": "PC", "notification_ids": ["PC", "PD"],
                                                              "accepted_at": AT, "bundle": "PC"})
        await _migrate(harness, conn, command.downgrade, "0019")
        back = {r.notification_id: r.bundle for r in (await conn.execute(select(_PER_ROW))).all()}
        assert back == {"PA": None, "PB": "PB", "PC": "PC", "PD": "PC"}
        await _migrate(harness, conn, command.upgrade, "head")
