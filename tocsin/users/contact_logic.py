"""A user's contact methods and notification rules, in the caller's transaction.

The same permission rule as the user's own profile (``logic.require_editable``); each change is
audited under its user (the root), as PagerDuty files sub-resources.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import record
from tocsin.errors import InvalidInput, NotFound
from tocsin.ids import new_id
from tocsin.users import rules
from tocsin.users.audit import method_snapshot, rule_snapshot
from tocsin.users.logic import Editor, get_user, require_editable
from tocsin.users.models import ContactMethod, NotificationRule
from tocsin.users.schemas import (
    ContactMethodCreate,
    ContactMethodFields,
    NotificationRuleCreate,
    NotificationRuleFields,
)

# --- contact methods -----------------------------------------------------------------------------

async def get_method(session: AsyncSession, user_id: str, method_id: str) -> ContactMethod:
    method = await session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise NotFound(f"Contact method {method_id} not found", errors=["Contact method not found"])
    return method


async def _check_method(session: AsyncSession, method: ContactMethod) -> None:
    problems = rules.contact_address_problems(method.type, method.address, method.country_code, method.device_type)
    if problems:
        raise InvalidInput(errors=problems)
    clash = (await session.execute(
        select(ContactMethod.id).where(
            ContactMethod.user_id == method.user_id, ContactMethod.type == method.type,
            ContactMethod.address == method.address, ContactMethod.id != method.id)
    )).first()
    if clash is not None:
        raise InvalidInput(errors=[f"address: this user already has a {method.type} with that address"])


def _normalise(method: ContactMethod) -> None:
    if method.type == "email_contact_method":
        method.address = method.address.lower()
        method.country_code = None
    if method.type != "push_notification_contact_method":
        method.device_type, method.sounds = None, None


async def create_method(
    session: AsyncSession, editor: Editor, user_id: str, fields: ContactMethodCreate, now: datetime,
) -> ContactMethod:
    user = await get_user(session, user_id)
    require_editable(editor, user)
    method = ContactMethod(
        id=new_id(), user_id=user.id, type=fields.type, label=fields.label, address=fields.address,
        country_code=fields.country_code, send_short_email=bool(fields.send_short_email),
        device_type=fields.device_type, sounds=fields.sounds, created_at=now, updated_at=now,
    )
    _normalise(method)
    await _check_method(session, method)
    session.add(method)
    await session.flush()
    record(session, editor.audit, action="create", root=("user", user.id, user.name),
           resource_type="contact_method", resource_id=method.id,
           summary=method.label, after=method_snapshot(method), at=now)
    return method


async def update_method(
    session: AsyncSession, editor: Editor, user_id: str, method_id: str, fields: ContactMethodFields,
    now: datetime,
) -> ContactMethod:
    user = await get_user(session, user_id)
    method = await get_method(session, user_id, method_id)
    require_editable(editor, user)
    data = fields.model_dump(exclude_unset=True)
    if data.get("type", method.type) != method.type:
        raise InvalidInput(errors=["type: a contact method's type cannot be changed; create a new one"])
    before = method_snapshot(method)
    for name in ("label", "address", "country_code", "send_short_email", "device_type", "sounds"):
        if name in data:
            setattr(method, name, data[name])
    _normalise(method)
    # Check before flushing, so a refused change leaves nothing behind.
    with session.no_autoflush:
        await _check_method(session, method)
    method.updated_at = now
    await session.flush()
    record(session, editor.audit, action="update", root=("user", user.id, user.name),
           resource_type="contact_method", resource_id=method.id,
           summary=method.label, before=before, after=method_snapshot(method), at=now)
    return method


async def delete_method(session: AsyncSession, editor: Editor, user_id: str, method_id: str, now: datetime) -> None:
    """Deleting a contact method deletes the notification rules that use it (as PagerDuty does)."""
    user = await get_user(session, user_id)
    method = await get_method(session, user_id, method_id)
    require_editable(editor, user)
    dependent = list((await session.execute(
        select(NotificationRule).where(NotificationRule.contact_method_id == method.id))).scalars())
    for rule in dependent:
        record(session, editor.audit, action="delete", root=("user", user.id, user.name),
           resource_type="notification_rule", resource_id=rule.id,
               summary=user.name, before=rule_snapshot(rule), at=now)
    await session.execute(delete(NotificationRule).where(NotificationRule.contact_method_id == method.id))
    record(session, editor.audit, action="delete", root=("user", user.id, user.name),
           resource_type="contact_method", resource_id=method.id,
           summary=method.label, before=method_snapshot(method), at=now)
    await session.delete(method)
    await session.flush()


# --- notification rules --------------------------------------------------------------------------

async def get_rule(session: AsyncSession, user_id: str, rule_id: str) -> NotificationRule:
    rule = await session.get(NotificationRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound(f"Notification rule {rule_id} not found", errors=["Notification rule not found"])
    return rule


async def _own_method(session: AsyncSession, user_id: str, method_id: str) -> ContactMethod:
    method = await session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise InvalidInput(errors=["contact_method: must be one of this user's contact methods"])
    return method


async def create_rule(
    session: AsyncSession, editor: Editor, user_id: str, fields: NotificationRuleCreate, now: datetime,
) -> tuple[NotificationRule, ContactMethod]:
    user = await get_user(session, user_id)
    require_editable(editor, user)
    method = await _own_method(session, user.id, fields.contact_method.id)
    rule = NotificationRule(id=new_id(), user_id=user.id, contact_method_id=method.id,
                            start_delay_in_minutes=fields.start_delay_in_minutes, urgency=fields.urgency,
                            created_at=now, updated_at=now)
    session.add(rule)
    await session.flush()
    record(session, editor.audit, action="create", root=("user", user.id, user.name),
           resource_type="notification_rule", resource_id=rule.id,
           summary=user.name, after=rule_snapshot(rule), at=now)
    return rule, method


async def update_rule(
    session: AsyncSession, editor: Editor, user_id: str, rule_id: str, fields: NotificationRuleFields,
    now: datetime,
) -> tuple[NotificationRule, ContactMethod]:
    user = await get_user(session, user_id)
    rule = await get_rule(session, user_id, rule_id)
    require_editable(editor, user)
    data = fields.model_dump(exclude_unset=True)
    method_id = data["contact_method"]["id"] if "contact_method" in data else rule.contact_method_id
    method = await _own_method(session, user.id, method_id)
    before = rule_snapshot(rule)
    rule.contact_method_id = method.id
    rule.start_delay_in_minutes = data.get("start_delay_in_minutes", rule.start_delay_in_minutes)
    rule.urgency = data.get("urgency", rule.urgency)
    rule.updated_at = now
    await session.flush()
    record(session, editor.audit, action="update", root=("user", user.id, user.name),
           resource_type="notification_rule", resource_id=rule.id,
           summary=user.name, before=before, after=rule_snapshot(rule), at=now)
    return rule, method


async def delete_rule(session: AsyncSession, editor: Editor, user_id: str, rule_id: str, now: datetime) -> None:
    user = await get_user(session, user_id)
    rule = await get_rule(session, user_id, rule_id)
    require_editable(editor, user)
    record(session, editor.audit, action="delete", root=("user", user.id, user.name),
           resource_type="notification_rule", resource_id=rule.id,
           summary=user.name, before=rule_snapshot(rule), at=now)
    await session.delete(rule)
    await session.flush()
