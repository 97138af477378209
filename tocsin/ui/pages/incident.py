"""One incident: what it is, where its escalation stands (with a countdown to the next step),
its timeline (log entries, each page sent with its channel and outcome, notes) and alerts, kept
live like the list; and every action a responder takes, each a CSRF-protected form calling the
incidents domain's logic (the same rules and log entries as the REST API, channel ``website``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import InvalidInput, NotFound
from tocsin.incidents import logic
from tocsin.incidents.queries import get_incident
from tocsin.incidents.schemas import MAX_NOTE, MAX_SNOOZE, IncidentUpdate
from tocsin.incidents.transition_writer import WEBSITE_CHANNEL
from tocsin.ui.views import incident_detail_view
from tocsin.ui.web import Viewer, checked_form, fragment, one, page, redirect, require_scope, ui_of, viewer

router = APIRouter()
PATH = "/ui/incidents/{incident_id}"
SNOOZE_CHOICES = ((30, "30 minutes"), (60, "1 hour"), (240, "4 hours"), (480, "8 hours"), (1440, "24 hours"))
NOTICES = {
    "acknowledge": "Acknowledged.", "resolve": "Resolved.", "note": "Note added.", "snooze": "Snoozed.",
    "escalate": "Escalated.", "reassign": "Reassigned.",
}


@router.get(PATH)
async def show(incident_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    if who.user is None:
        return redirect(request, who, f"/ui/sign-in?next=/ui/incidents/{incident_id}")
    require_scope(who, "incidents.read")
    ui = ui_of(request)
    can_write = who.may("incidents.write")
    try:
        view = await ui.rt.db.read(lambda s: incident_detail_view(s, incident_id, ui.rt.base_url,
                                                                  ui.rt.clock.now(), can_write))
    except NotFound:
        return page(request, who, "message.html", status=404, title="Incident not found",
                    text="There is no such incident.", link=("/", "Back to incidents"))
    context: dict[str, Any] = {
        "view": view, "incident": view.incident, "can_write": can_write, "snooze_choices": SNOOZE_CHOICES,
               "notice": NOTICES.get(request.query_params.get("done", "")), "max_note": MAX_NOTE,
               "title": f"#{view.incident.number} {view.incident.title}"}
    if request.query_params.get("part") == "live":
        return fragment(request, who, "incident.html", "live", **context)
    return page(request, who, "incident.html", **context)


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(errors=[f"{name} must be a whole number"]) from None
    if not low <= number <= high:
        raise InvalidInput(errors=[f"{name} must be between {low} and {high}"])
    return number


def _update(**fields: object) -> IncidentUpdate:
    try:
        return IncidentUpdate.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(errors=[str(e["msg"]) for e in exc.errors()]) from None


Work = Callable[[AsyncSession], Awaitable[object]]


@router.post(PATH + "/{action}")
async def act(incident_id: str, action: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    user = require_scope(who, "incidents.write")
    ui = ui_of(request)
    now = ui.rt.clock.now()
    work: Work
    if action == "acknowledge":
        def work(s: AsyncSession) -> Awaitable[object]:
            return logic.update_incident(s, incident_id, _update(status="acknowledged"), user.id, now,
                                         via=WEBSITE_CHANNEL)
    elif action == "resolve":
        note = one(form, "resolution").strip()
        update = _update(status="resolved", **({"resolution": note} if note else {}))

        def work(s: AsyncSession) -> Awaitable[object]:
            return logic.update_incident(s, incident_id, update, user.id, now, via=WEBSITE_CHANNEL)
    elif action == "note":
        content = one(form, "content").strip()
        if not content or len(content) > MAX_NOTE:
            raise InvalidInput(errors=[f"A note needs between 1 and {MAX_NOTE} characters"])

        async def work(s: AsyncSession) -> object:
            incident = await get_incident(s, incident_id, for_update=True)
            return await logic.add_note(s, incident, user.id, content, now, via=WEBSITE_CHANNEL)
    elif action == "snooze":
        minutes = _int(one(form, "minutes"), "The snooze", 1, MAX_SNOOZE // 60)

        def work(s: AsyncSession) -> Awaitable[object]:
            return logic.snooze(s, incident_id, minutes * 60, user.id, now, via=WEBSITE_CHANNEL)
    elif action == "escalate":
        level = _int(one(form, "level"), "The level", 1, 100)

        def work(s: AsyncSession) -> Awaitable[object]:
            return logic.update_incident(s, incident_id, _update(escalation_level=level), user.id, now,
                                         via=WEBSITE_CHANNEL, levels=ui.rt.wiring.frozen_levels)
    elif action == "reassign":
        assignee = one(form, "user")[:16]
        update = _update(assignments=[{"assignee": {"id": assignee, "type": "user_reference"}}])

        def work(s: AsyncSession) -> Awaitable[object]:
            return logic.update_incident(s, incident_id, update, user.id, now, via=WEBSITE_CHANNEL)
    else:
        raise NotFound(errors=[f"No such action: {action}"])
    async with ui.rt.db.transaction() as session:
        await work(session)
    return redirect(request, who, f"/ui/incidents/{incident_id}", done=action)
