"""``tocsin init``: migrate, then on an empty database create the first admin, an account API
key and a demo service with an Events API v2 integration. Safe to run again: it reuses what
exists and issues a fresh key (old keys stay valid; only their hashes were ever stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from tocsin.auth.logic import ensure_admin, issue_api_key
from tocsin.config import Settings
from tocsin.db.migrate import upgrade_async
from tocsin.db.session import Database
from tocsin.services import logic as services
from tocsin.services.models import Integration, Service
from tocsin.services.schemas import IntegrationCreate, ServiceCreate

DEMO_SERVICE = "Demo Service"


@dataclass(frozen=True)
class InitResult:
    url: str
    api_key: str
    admin_email: str
    service_id: str | None
    integration_key: str | None


async def _demo(session, now: datetime) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    service = (await session.execute(
        select(Service).where(Service.name == DEMO_SERVICE).order_by(Service.created_at).limit(1)
    )).scalar_one_or_none()
    any_service = (await session.execute(select(Service.id).limit(1))).first()
    if service is None and any_service is None:
        service = await services.create_service(session, ServiceCreate(name=DEMO_SERVICE, description="Created by tocsin init"), now)
        await services.create_integration(session, service.id, IntegrationCreate(name="Demo Events API v2"), now)
    if service is None:
        return None, None
    integration = (await session.execute(
        select(Integration).where(Integration.service_id == service.id, Integration.deleted_at.is_(None))
        .order_by(Integration.created_at).limit(1)
    )).scalar_one_or_none()
    return service.id, integration.integration_key if integration else None


async def initialise(settings: Settings) -> InitResult:
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            admin = await ensure_admin(session, settings.admin_email, now)
            key = await issue_api_key(session, now, description="tocsin init")
            service_id, integration_key = await _demo(session, now)
    finally:
        await db.dispose()
    return InitResult(settings.base_url, key, admin.email, service_id, integration_key)
