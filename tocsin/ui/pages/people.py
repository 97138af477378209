"""A person's page (``/ui/people/{id}``; ``/ui/people/me`` is one's own profile): profile,
contact methods, notification rules and next on-call shifts. Their owner (or an admin: the users
domain's ``may_edit_person``) may change them, each form calling the users domain's logic as the
REST routes do (its rules and audit records), and send a ``[Test message]`` to a contact method
through its real channel (``tocsin.engine.trial_send``, as ``POST .../contact_methods/{id}/test``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.engine.trial_send import send_test
from tocsin.errors import InvalidInput, NotFound
from tocsin.notifications.models import SENT
from tocsin.ui.people_view import METHOD_KINDS, person_view
from tocsin.ui.web import Viewer, actor, checked_form, one, page, redirect, require_scope, ui_of, viewer
from tocsin.users import contact_logic, logic
from tocsin.users.logic import Editor
from tocsin.users.schemas import (
    ContactMethodCreate,
    ContactMethodFields,
    NotificationRuleCreate,
    NotificationRuleFields,
    UserFields,
)

router = APIRouter()
M = TypeVar("M", bound=BaseModel)
PATH = "/ui/people/{user_id}"
DELAYS = (0, 1, 3, 5, 10, 15, 30, 60)
NOTICES = {
    "profile": "Profile saved.", "method-added": "Contact method added.", "method-deleted": "Contact method removed.",
    "method-updated": "Contact method saved.", "rule-updated": "Notification rule saved.",
    "rule-added": "Notification rule added.", "rule-deleted": "Notification rule removed.",
    "test-sent": "Test message sent: the provider accepted it.",
    "test-failed": "The test message was not delivered: see below why.",
}


@router.get("/ui/people/me")
async def me(request: Request, who: Viewer = Depends(viewer)) -> Response:
    user = require_scope(who, "users.read")
    return redirect(request, who, f"/ui/people/{user.id}")


@router.get("/ui/users/{user_id}")
async def users_html_url(user_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    """The REST API's ``html_url`` of a user points here: the person's page."""
    require_scope(who, "users.read")
    return redirect(request, who, f"/ui/people/{user_id}")


@router.get(PATH)
async def show(user_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    me = require_scope(who, "users.read")
    ui = ui_of(request)
    try:
        view = await ui.rt.db.read(lambda s: person_view(s, user_id, me.id, me.role, who.may("users.write"),
                                                         ui.rt.clock.now()))
    except NotFound:
        return page(request, who, "message.html", status=404, title="Person not found",
                    text="There is no such person.", link=("/ui/people/me", "My profile"))
    done = request.query_params.get("done", "")
    reason = request.query_params.get("reason", "")[:300] if done == "test-failed" else ""
    return page(request, who, "person.html", view=view, person=view.user, notice=NOTICES.get(done), reason=reason,
                kinds=METHOD_KINDS, delays=DELAYS, active="me" if view.is_me else "", title=view.user.name)


def _valid(model: type[M], fields: dict[str, object]) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(errors=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from None


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(errors=[f"{name} must be a whole number"]) from None


Work = Callable[[AsyncSession], Awaitable[object]]


@router.post(PATH + "/{action}")
async def act(user_id: str, action: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    me = require_scope(who, "users.write")
    ui = ui_of(request)
    now = ui.rt.clock.now()
    editor = Editor(role=me.role, user_id=me.id, audit=actor(request, who))
    work: Work
    if action == "profile":
        sent = {name: one(form, name).strip() for name in ("name", "job_title", "time_zone")}
        fields = _valid(UserFields, {k: v for k, v in sent.items() if v or k == "job_title"})

        def work(s: AsyncSession) -> Awaitable[object]:
            return logic.update_user(s, editor, user_id, fields, ui.rt.wiring, now)
        done = "profile"
    elif action == "add-method":
        kind = one(form, "type")
        raw: dict[str, object] = {"type": kind, "label": one(form, "label").strip(),
                                  "address": one(form, "address").strip()}
        if kind in ("sms_contact_method", "phone_contact_method"):
            raw["country_code"] = _int(one(form, "country_code", "1"), "The country code")
        method = _valid(ContactMethodCreate, raw)

        def work(s: AsyncSession) -> Awaitable[object]:
            return contact_logic.create_method(s, editor, user_id, method, now)
        done = "method-added"
    elif action == "update-method":
        method_id = one(form, "method")[:16]
        changes = _valid(ContactMethodFields, {"label": one(form, "label").strip(),
                                               "address": one(form, "address").strip()})

        def work(s: AsyncSession) -> Awaitable[object]:
            return contact_logic.update_method(s, editor, user_id, method_id, changes, now)
        done = "method-updated"
    elif action == "delete-method":
        method_id = one(form, "method")[:16]

        def work(s: AsyncSession) -> Awaitable[object]:
            return contact_logic.delete_method(s, editor, user_id, method_id, now)
        done = "method-deleted"
    elif action == "add-rule":
        rule = _valid(NotificationRuleCreate, {
            "start_delay_in_minutes": _int(one(form, "delay"), "The delay"), "urgency": one(form, "urgency"),
            "contact_method": {"id": one(form, "method")[:16], "type": "contact_method_reference"}})

        def work(s: AsyncSession) -> Awaitable[object]:
            return contact_logic.create_rule(s, editor, user_id, rule, now)
        done = "rule-added"
    elif action == "update-rule":
        rule_id = one(form, "rule")[:16]
        rule_changes = _valid(NotificationRuleFields, {
            "start_delay_in_minutes": _int(one(form, "delay"), "The delay"), "urgency": one(form, "urgency")})

        def work(s: AsyncSession) -> Awaitable[object]:
            return contact_logic.update_rule(s, editor, user_id, rule_id, rule_changes, now)
        done = "rule-updated"
    elif action == "delete-rule":
        rule_id = one(form, "rule")[:16]

        def work(s: AsyncSession) -> Awaitable[object]:
            return contact_logic.delete_rule(s, editor, user_id, rule_id, now)
        done = "rule-deleted"
    elif action == "test-method":
        # The send happens outside any transaction (trial_send's rule); its outcome is the answer.
        row = await send_test(ui.rt.db, ui.channels, editor, user_id, one(form, "method")[:16], ui.rt.clock.now)
        if row.status == SENT:
            return redirect(request, who, f"/ui/people/{user_id}", done="test-sent")
        return redirect(request, who, f"/ui/people/{user_id}", done="test-failed", reason=row.last_error or "")
    else:
        raise NotFound(errors=[f"No such action: {action}"])
    async with ui.rt.db.transaction() as session:
        await work(session)
    return redirect(request, who, f"/ui/people/{user_id}", done=done)
