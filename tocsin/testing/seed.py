"""What the test double and ``tocsin dev`` start with: an account an integration can use at once.

``tocsin init``'s account (the owner admin@example.com, paged by email at once; the "Default"
escalation policy; "Demo Service" with an Events API v2 integration), plus a second person,
responder@example.com, on a second level of the policy, so moving the clock on 30 minutes shows
an escalation. A fresh account API key is issued on every call and the earlier ones issued here
are revoked (their secrets were only ever printed), so a persistent ``tocsin dev`` database
collects no live keys. Everything goes through the domains' logic, with its audit records.

Idempotent: running it again on a seeded database changes only the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import SYSTEM
from tocsin.auth import logic as auth
from tocsin.auth.models import ApiKey, User
from tocsin.bootstrap import initialise
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.escalation import logic as escalation
from tocsin.escalation.schemas import PolicyFields
from tocsin.ids import hash_secret
from tocsin.users import logic as users
from tocsin.users.schemas import UserCreate

ADMIN_EMAIL = "admin@example.com"
RESPONDER_EMAIL = "responder@example.com"
KEY_DESCRIPTION = "tocsin.testing (tocsin dev or the pagerduty fixture)"
ESCALATION_MINUTES = 30


@dataclass(frozen=True)
class Seed:
    """The seeded account's keys and ids (the API key is an account key: full access)."""

    api_key: str
    routing_key: str
    service_id: str
    escalation_policy_id: str
    admin_id: str
    admin_email: str
    responder_id: str
    responder_email: str


class SeedError(RuntimeError):
    """The database holds an account this seeding cannot use (e.g. no Default policy)."""


async def seed(database_url: str) -> Seed:
    """Migrate and seed the database at ``database_url`` (see the module's docstring)."""
    init = await initialise(Settings(database_url=database_url, admin_email=ADMIN_EMAIL))
    if init.service_id is None or init.integration_key is None or init.escalation_policy_id is None:
        raise SeedError("this database has services or policies of its own but no Default policy and Demo "
                        "Service with an integration; seed an empty database")
    db = Database(database_url)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            admin = await auth.live_user(session, email=init.admin_email)
            responder = await _responder(session, admin, now)
            await _two_levels(session, init.escalation_policy_id, admin.id, responder.id, now)
            api_key = await _fresh_key(session, init.api_key, now)
    finally:
        await db.dispose()
    return Seed(api_key=api_key, routing_key=init.integration_key, service_id=init.service_id,
                escalation_policy_id=init.escalation_policy_id, admin_id=admin.id, admin_email=admin.email,
                responder_id=responder.id, responder_email=responder.email)


async def _responder(session: AsyncSession, admin: User, now: datetime) -> User:
    found = (await session.execute(select(User).where(User.email == RESPONDER_EMAIL))).scalar_one_or_none()
    if found is not None:
        return found
    editor = users.Editor(role=admin.role, user_id=admin.id, audit=SYSTEM)
    return await users.create_user(session, editor, UserCreate(name="Responder", email=RESPONDER_EMAIL), now)


async def _two_levels(session: AsyncSession, policy_id: str, admin_id: str, responder_id: str, now: datetime) -> None:
    """Level 1 the admin, level 2 the responder, 30 minutes each (unless already so or changed
    by hand: a policy that is no longer init's single level is left as it is)."""
    rules = (await escalation.rules_of(session, [policy_id]))[policy_id]
    if len(rules) != 1 or [(t.kind, t.id) for t in rules[0].targets] != [("user", admin_id)]:
        return
    fields = PolicyFields.model_validate({"escalation_rules": [
        {"escalation_delay_in_minutes": ESCALATION_MINUTES, "targets": [{"type": "user_reference", "id": admin_id}]},
        {"escalation_delay_in_minutes": ESCALATION_MINUTES,
         "targets": [{"type": "user_reference", "id": responder_id}]},
    ]})
    await escalation.update_policy(session, policy_id, fields, SYSTEM, now)


async def _fresh_key(session: AsyncSession, init_key: str | None, now: datetime) -> str:
    """Revoke the keys issued here before (and init's, never shown, when init just made it); issue one."""
    stale = ApiKey.description == KEY_DESCRIPTION
    if init_key is not None:
        stale = stale | (ApiKey.token_hash == hash_secret(init_key))
    for key_id in (await session.execute(select(ApiKey.id).where(stale, ApiKey.revoked_at.is_(None)))).scalars():
        await auth.revoke_api_key(session, key_id, now, SYSTEM)
    _key, secret = await auth.create_api_key(session, now, SYSTEM, key_type="account", user_id=None,
                                            read_only=False, description=KEY_DESCRIPTION)
    return secret
