"""The seeded account: what the fixture and ``tocsin dev`` start with, and seeding again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tocsin.auth.models import ApiKey
from tocsin.db.session import Database
from tocsin.escalation.logic import rules_of
from tocsin.ids import hash_secret
from tocsin.testing.seed import ADMIN_EMAIL, KEY_DESCRIPTION, RESPONDER_EMAIL, seed


async def test_seeding_twice_keeps_the_account_and_replaces_only_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    first = await seed(url)
    second = await seed(url)
    assert (first.admin_email, first.responder_email) == (ADMIN_EMAIL, RESPONDER_EMAIL)
    same = ("routing_key", "service_id", "escalation_policy_id", "admin_id", "responder_id")
    assert [getattr(second, f) for f in same] == [getattr(first, f) for f in same]
    assert second.api_key != first.api_key

    db = Database(url)
    try:
        async with db.transaction() as session:
            keys = {k.token_hash: k for k in (await session.execute(select(ApiKey))).scalars()}
            [rules] = (await rules_of(session, [first.escalation_policy_id])).values()
    finally:
        await db.dispose()
    assert keys[hash_secret(first.api_key)].revoked_at is not None
    assert keys[hash_secret(second.api_key)].revoked_at is None
    live = [k for k in keys.values() if k.revoked_at is None]
    assert [(k.description, k.kind, k.read_only) for k in live] == [(KEY_DESCRIPTION, "account", False)]
    assert [([t.id for t in r.targets], r.escalation_delay_in_minutes) for r in rules] == [
        ([first.admin_id], 30), ([first.responder_id], 30)]
