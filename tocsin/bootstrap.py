"""``tocsin init``: migrate, then on an empty database create the first admin, an account API
key and a demo service with an Events API v2 integration. Safe to run again: it reuses what
exists and mints no key — the first run's key is shown once (only its hash is stored), and more
keys come from ``tocsin api-key create``, so re-running init never leaves full-access keys behind.

Like PagerDuty, a new account has a "Default" escalation policy paging the first admin; the demo
service uses it (a service cannot exist without a policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import SYSTEM
from tocsin.auth.logic import ensure_admin, issue_api_key
from tocsin.auth.models import ApiKey, User
from tocsin.config import Settings
from tocsin.db.migrate import upgrade_async
from tocsin.db.session import Database
from tocsin.escalation import logic as escalation
from tocsin.escalation.models import EscalationPolicy
from tocsin.escalation.schemas import PolicyCreate
from tocsin.ids import new_id
from tocsin.services import logic as services
from tocsin.services.models import Integration, Service
from tocsin.services.schemas import IntegrationCreate, ReferenceIn, ServiceCreate
from tocsin.users.models import ContactMethod, NotificationRule

DEMO_SERVICE = "Demo Service"
DEFAULT_POLICY = "Default"


@dataclass(frozen=True)
class InitResult:
    url: str
    api_key: str | None  # the first initialisation's account key; None on every later run
    admin_email: str
    service_id: str | None
    integration_key: str | None
    escalation_policy_id: str | None = None  # the "Default" policy, when this account has it


async def _default_paging(session: AsyncSession, admin: User, now: datetime) -> None:
    """The first admin can be paged as every new user can (``users.logic.create_user``; PagerDuty's
    defaults): by email at once for high-urgency incidents, unless they already have a way."""
    has_method = (await session.execute(
        select(func.count()).select_from(ContactMethod).where(ContactMethod.user_id == admin.id))).scalar_one()
    if has_method:
        return
    method = ContactMethod(id=new_id(), user_id=admin.id, type="email_contact_method", label="Default",
                           address=admin.email, send_short_email=False, created_at=now, updated_at=now)
    session.add(method)
    await session.flush()
    session.add(NotificationRule(id=new_id(), user_id=admin.id, contact_method_id=method.id,
                                 start_delay_in_minutes=0, urgency="high", created_at=now, updated_at=now))
    await session.flush()


async def _default_policy(session: AsyncSession, admin: User, now: datetime) -> str | None:
    """The "Default" policy (level 1: the admin), created only on an account without policies."""
    live = EscalationPolicy.deleted_at.is_(None)
    found = (await session.execute(
        select(EscalationPolicy.id).where(live, EscalationPolicy.name == DEFAULT_POLICY)
        .order_by(EscalationPolicy.created_at).limit(1)
    )).scalar_one_or_none()
    if found is not None:
        return found
    if (await session.execute(select(EscalationPolicy.id).where(live).limit(1))).first() is not None:
        return None
    fields = PolicyCreate.model_validate({
        "name": DEFAULT_POLICY, "description": "Created by tocsin init",
        "escalation_rules": [{"escalation_delay_in_minutes": 30,
                              "targets": [{"type": "user_reference", "id": admin.id}]}],
    })
    policy = await escalation.create_policy(session, fields, SYSTEM, now)
    return policy.id


async def _demo(
    session: AsyncSession, policy_id: str | None, now: datetime,
) -> tuple[str | None, str | None]:
    service = (await session.execute(
        select(Service).where(Service.name == DEMO_SERVICE).order_by(Service.created_at).limit(1)
    )).scalar_one_or_none()
    any_service = (await session.execute(select(Service.id).limit(1))).first()
    if service is None and any_service is None and policy_id is not None:
        service = await services.create_service(session, ServiceCreate(
            name=DEMO_SERVICE, description="Created by tocsin init",
            escalation_policy=ReferenceIn(id=policy_id, type="escalation_policy_reference"),
        ), SYSTEM, now)
        await services.create_integration(session, service.id, IntegrationCreate(name="Demo Events API v2"),
                                          SYSTEM, now, services.SYSTEM_CREATOR)
    if service is None:
        return None, None
    if service.escalation_policy_id is None and policy_id is not None:
        service.escalation_policy_id = policy_id  # a demo service from before policies existed
        await session.flush()
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
            # First initialisation: no key was ever issued (revoked ones count: the account had one).
            first = not (await session.execute(select(func.count()).select_from(ApiKey))).scalar_one()
            admin = await ensure_admin(session, settings.admin_email, now)
            await _default_paging(session, admin, now)
            key = await issue_api_key(session, now, description="tocsin init") if first else None
            policy_id = await _default_policy(session, admin, now)
            service_id, integration_key = await _demo(session, policy_id, now)
    finally:
        await db.dispose()
    return InitResult(settings.base_url, key, admin.email, service_id, integration_key, policy_id)
