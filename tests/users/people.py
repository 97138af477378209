"""Helpers for the people tests: users made through the API, and keys that act as them."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Harness
from tocsin.audit.models import AuditRecord
from tocsin.auth.logic import issue_api_key
from tocsin.auth.models import User

ACCEPT = "application/vnd.pagerduty+json;version=2"


async def make_user(h: Harness, name: str = "Ada Lovelace", email: str | None = None, **fields: Any) -> dict[str, Any]:
    email = email or f"{name.split()[0].lower()}@example.com"
    resp = await h.client.post("/users", headers=h.writer, json={"user": {"name": name, "email": email, **fields}})
    assert resp.status_code == 201, resp.text
    return resp.json()["user"]


async def key_for(h: Harness, user_id: str) -> dict[str, str]:
    """Headers for a user-level API key acting as ``user_id``."""
    async with h.tocsin.db.transaction() as session:
        secret = await issue_api_key(session, datetime.now(UTC), description="test", user_id=user_id)
    return {"Authorization": f"Token token={secret}", "Accept": ACCEPT}


async def admin_id(h: Harness) -> str:
    async with h.tocsin.db.transaction() as session:
        return (await session.execute(select(User.id).where(User.email == h.seed.admin_email))).scalar_one()


async def audit_rows(h: Harness, resource_type: str, resource_id: str | None = None) -> list[AuditRecord]:
    async with h.tocsin.db.transaction() as session:
        # The changed resource: the detail when the record sits under a root (a user's contact method).
        changed_type = func.coalesce(AuditRecord.detail_type, AuditRecord.root_type)
        changed_id = func.coalesce(AuditRecord.detail_id, AuditRecord.root_id)
        query = select(AuditRecord).where(changed_type == resource_type)
        if resource_id is not None:
            query = query.where(changed_id == resource_id)
        return list((await session.execute(query.order_by(AuditRecord.execution_time, AuditRecord.id))).scalars())
