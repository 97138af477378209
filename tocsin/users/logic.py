"""Changes to users, in the caller's transaction; their contact methods and notification rules
are ``tocsin.users.contact_logic``.

Every change writes its audit record in the same transaction. Permission rules (who may change
whom) come from ``tocsin.users.rules``; the route dependency has already checked the scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth.models import ApiKey, User
from tocsin.db.after_commit import after_commit
from tocsin.errors import AccessDenied, Conflict, InvalidInput, NotFound
from tocsin.http.wiring import Wiring
from tocsin.ids import new_id
from tocsin.users import rules
from tocsin.users.audit import USER_FIELDS, method_snapshot, rule_snapshot, user_snapshot
from tocsin.users.models import ContactMethod, NotificationRule
from tocsin.users.schemas import (
    UserCreate,
    UserFields,
)


@dataclass(frozen=True)
class Editor:
    """Who is making a change: the credential's role and user (None, None for an account key)."""

    role: str | None
    user_id: str | None
    audit: Actor


# --- users ---------------------------------------------------------------------------------------

async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(f"User {user_id} not found", errors=["User not found"])
    return user


async def details_of(
    session: AsyncSession, user_ids: list[str],
) -> tuple[dict[str, list[ContactMethod]], dict[str, list[NotificationRule]]]:
    """Each user's contact methods (oldest first) and notification rules (by delay)."""
    methods: dict[str, list[ContactMethod]] = {u: [] for u in user_ids}
    rules_: dict[str, list[NotificationRule]] = {u: [] for u in user_ids}
    if not user_ids:
        return methods, rules_
    for m in (await session.execute(
        select(ContactMethod).where(ContactMethod.user_id.in_(user_ids))
        .order_by(ContactMethod.created_at, ContactMethod.id)
    )).scalars():
        methods[m.user_id].append(m)
    for r in (await session.execute(
        select(NotificationRule).where(NotificationRule.user_id.in_(user_ids))
        .order_by(NotificationRule.start_delay_in_minutes, NotificationRule.id)
    )).scalars():
        rules_[r.user_id].append(r)
    return methods, rules_


async def _check_email_free(session: AsyncSession, email: str, except_id: str | None = None) -> None:
    holder = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if holder is not None and holder.id != except_id:
        why = " by a deleted user" if holder.deleted_at is not None else ""
        raise InvalidInput(errors=[f"email: {email} has already been taken{why}"])


async def _forget_keys_after_commit(session: AsyncSession, wiring: Wiring, user_id: str) -> None:
    """Drop the user's live keys from this process's credential cache once this transaction commits.

    After, not before: a request looking a key up between a forget and the commit would still
    read the old rows and cache them again for the cache's lifetime. (The authenticator also
    refuses to cache a lookup that a forget overtook.) On rollback nothing changed, nothing to drop."""
    digests = list((await session.execute(
        select(ApiKey.token_hash).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)))).scalars())
    if digests:
        authenticator = wiring.authenticator
        after_commit(session, lambda: authenticator.forget(digests))


def require_editable(editor: Editor, user: User) -> None:
    if not rules.may_edit_person(editor.role, editor.user_id, user.id, user.role):
        raise AccessDenied(errors=[("You may change only your own profile, contact methods and notification rules"
                                    " unless you are an admin (only the owner may change the owner's)")])


async def create_user(session: AsyncSession, editor: Editor, fields: UserCreate, now: datetime) -> User:
    if not rules.is_admin(editor.role):
        raise AccessDenied(errors=["Only admins may create users"])
    role = fields.role or "user"
    if role == rules.OWNER:
        raise InvalidInput(errors=["role: an account has exactly one owner; another user cannot be made owner"])
    await _check_email_free(session, fields.email)
    user_id = new_id()
    user = User(
        id=user_id, name=fields.name, email=fields.email, role=role,
        time_zone=fields.time_zone or "Etc/UTC", color=fields.color or rules.color_for(user_id),
        description=fields.description, job_title=fields.job_title, created_at=now, updated_at=now,
    )
    session.add(user)
    await session.flush()
    record(session, editor.audit, action="create", resource_type="user", resource_id=user.id,
           summary=user.name, after=user_snapshot(user), at=now)
    # As PagerDuty does: a new user can be paged at once, by email, for high-urgency incidents.
    method = ContactMethod(id=new_id(), user_id=user.id, type="email_contact_method", label="Default",
                           address=user.email, send_short_email=False, created_at=now, updated_at=now)
    session.add(method)
    await session.flush()
    record(session, editor.audit, action="create", root=("user", user.id, user.name),
           resource_type="contact_method", resource_id=method.id,
           summary=method.label, after=method_snapshot(method), at=now)
    rule = NotificationRule(id=new_id(), user_id=user.id, contact_method_id=method.id,
                            start_delay_in_minutes=0, urgency="high", created_at=now, updated_at=now)
    session.add(rule)
    await session.flush()
    record(session, editor.audit, action="create", root=("user", user.id, user.name),
           resource_type="notification_rule", resource_id=rule.id,
           summary=user.name, after=rule_snapshot(rule), at=now)
    return user


async def update_user(
    session: AsyncSession, editor: Editor, user_id: str, fields: UserFields, wiring: Wiring, now: datetime,
) -> User:
    """A role change reaches the user's keys on the next request in this process: ``wiring``
    carries the process's authenticator, told to forget them once the change has committed."""
    user = await get_user(session, user_id)
    require_editable(editor, user)
    data = fields.model_dump(exclude_unset=True)
    if "role" in data:
        problem = rules.role_change_problem(editor.role, editor.user_id, user.id, user.role, data["role"])
        if problem is not None:
            kind, message = problem
            raise (AccessDenied if kind == "denied" else InvalidInput)(errors=[message])
    if "email" in data and data["email"] != user.email:
        await _check_email_free(session, data["email"], except_id=user.id)
    if data.get("role", user.role) != user.role:
        await _forget_keys_after_commit(session, wiring, user.id)  # they act with the new role at once
    before = user_snapshot(user)
    for name in USER_FIELDS:
        if name in data:
            setattr(user, name, data[name])
    user.updated_at = now
    await session.flush()
    record(session, editor.audit, action="update", resource_type="user", resource_id=user.id,
           summary=user.name, before=before, after=user_snapshot(user), at=now)
    return user


async def delete_user(
    session: AsyncSession, editor: Editor, user_id: str, wiring: Wiring, now: datetime,
) -> None:
    """Soft delete: the row stays for the incidents and audit records naming it; the user's keys
    are revoked and their team memberships end.

    Refused (400) while an escalation policy targets the user directly (a level would page
    nobody). Escalation sits above users in the layers; ``wiring`` carries its query, and the
    process's authenticator, which forgets the user's keys once the deletion has committed."""
    user = await get_user(session, user_id)
    if not rules.is_admin(editor.role):
        raise AccessDenied(errors=["Only admins may delete users"])
    if user.role == rules.OWNER:
        raise InvalidInput(errors=["The account owner cannot be deleted"])
    if used_by := await wiring.policies_using_user(session, user_id):
        names = ", ".join(f"{name} ({pid})" for pid, name in used_by)
        raise Conflict(errors=[f"This user is a target of escalation policies and cannot be deleted: {names}"])
    before = user_snapshot(user)
    await _forget_keys_after_commit(session, wiring, user.id)
    user.deleted_at = now
    await session.execute(
        update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)).values(revoked_at=now))
    await wiring.team_directory.remove_user(session, user.id)
    await session.flush()
    record(session, editor.audit, action="delete", resource_type="user", resource_id=user.id,
           summary=user.name, before=before, at=now)
