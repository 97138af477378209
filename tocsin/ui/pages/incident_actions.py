"""What a responder does from an incident's page, each a CSRF-protected form calling the
incidents domain's logic in one transaction (the same rules and log entries as the REST API,
channel ``website``): acknowledge, resolve, note, snooze, escalate to a level, reassign to a user
or to an escalation policy, change priority or urgency, and merge this incident into another.

A refusal by the domain (a PagerDuty-shaped error: message and errors) shows the incident's page
again with those errors and the error's status; nothing of the action was written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.http.inputs import field_errors
from tocsin.http.wiring import FrozenLevels
from tocsin.incidents import alert_moves, logic
from tocsin.incidents.queries import find_incident_id, get_incident
from tocsin.incidents.schemas import MAX_NOTE, MAX_SNOOZE, IncidentUpdate
from tocsin.incidents.transition_writer import WEBSITE_CHANNEL
from tocsin.ui.pages.incident import PATH, incident_page
from tocsin.ui.web import Viewer, checked_form, one, redirect, require_scope, ui_of, viewer

router = APIRouter()
# A change in one transaction; what it returns is where to go next (None: back to this incident).
Work = Callable[[AsyncSession], Awaitable[str | None]]


@dataclass(frozen=True)
class Asked:
    """One posted action: which incident, the form, who and when."""

    incident_id: str
    form: dict[str, list[str]]
    user_id: str
    at: datetime
    levels: FrozenLevels  # a manual escalation follows the incident's frozen path (as the REST API's)

    def field(self, name: str, limit: int = 64) -> str:
        return one(self.form, name).strip()[:limit]

    def update(self, **fields: Any) -> Work:
        """``PUT /incidents/{id}`` with these fields, as the REST API validates them."""
        try:
            change = IncidentUpdate.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInput(errors=field_errors(exc, "incident")) from None

        async def work(s: AsyncSession) -> None:
            await logic.update_incident(s, self.incident_id, change, self.user_id, self.at, via=WEBSITE_CHANNEL,
                                        levels=self.levels)
        return work


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(errors=[f"{name} must be a whole number"]) from None
    if not low <= number <= high:
        raise InvalidInput(errors=[f"{name} must be between {low} and {high}"])
    return number


def _acknowledge(a: Asked) -> Work:
    return a.update(status="acknowledged")


def _resolve(a: Asked) -> Work:
    note = one(a.form, "resolution").strip()
    return a.update(status="resolved", **({"resolution": note} if note else {}))


def _note(a: Asked) -> Work:
    content = one(a.form, "content").strip()
    if not content or len(content) > MAX_NOTE:
        raise InvalidInput(errors=[f"A note needs between 1 and {MAX_NOTE} characters"])

    async def work(s: AsyncSession) -> None:
        incident = await get_incident(s, a.incident_id, for_update=True)
        await logic.add_note(s, incident, a.user_id, content, a.at, via=WEBSITE_CHANNEL)
    return work


def _snooze(a: Asked) -> Work:
    minutes = _int(one(a.form, "minutes"), "The snooze", 1, MAX_SNOOZE // 60)

    async def work(s: AsyncSession) -> None:
        await logic.snooze(s, a.incident_id, minutes * 60, a.user_id, a.at, via=WEBSITE_CHANNEL)
    return work


def _escalate(a: Asked) -> Work:
    return a.update(escalation_level=_int(one(a.form, "level"), "The level", 1, 100))


def _reassign(a: Asked) -> Work:
    return a.update(assignments=[{"assignee": {"id": a.field("user", 16), "type": "user_reference"}}])


def _delegate(a: Asked) -> Work:
    """To another escalation policy: its level 1 is assigned and paged (PUT with ``escalation_policy``)."""
    return a.update(escalation_policy={"id": a.field("policy", 16), "type": "escalation_policy_reference"})


def _priority(a: Asked) -> Work:
    chosen = a.field("priority", 16)  # "" takes the priority away
    return a.update(priority={"id": chosen, "type": "priority_reference"} if chosen else None)


def _urgency(a: Asked) -> Work:
    return a.update(urgency=a.field("urgency"))


def _merge(a: Asked) -> Work:
    """This incident into another (``PUT /incidents/{target}/merge`` with this one as the source):
    its alerts move there and it resolves. The target is named by its number (``42``, ``#42``) or id."""
    named = a.field("target")
    if not named.removeprefix("#").strip():
        raise InvalidInput(errors=["target: give the number or id of the incident to merge into"])

    async def work(s: AsyncSession) -> str:
        target_id = await find_incident_id(s, named)
        if target_id is None:
            raise InvalidInput(errors=[f"target: there is no incident {named}"])
        await alert_moves.merge(s, target_id, [a.incident_id], a.user_id, a.at, via=WEBSITE_CHANNEL)
        source = await get_incident(s, a.incident_id)
        return f"/ui/incidents/{target_id}?done=merged&merged={source.number}"
    return work


ACTIONS: dict[str, Callable[[Asked], Work]] = {
    "acknowledge": _acknowledge, "resolve": _resolve, "note": _note, "snooze": _snooze, "escalate": _escalate,
    "reassign": _reassign, "delegate": _delegate, "priority": _priority, "urgency": _urgency, "merge": _merge,
}


@router.post(PATH + "/{action}")
async def act(incident_id: str, action: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    user = require_scope(who, "incidents.write")
    prepare = ACTIONS.get(action)
    if prepare is None:
        raise NotFound(errors=[f"No such action: {action}"])
    ui = ui_of(request)
    try:
        work = prepare(Asked(incident_id, form, user.id, ui.rt.clock.now(), ui.rt.wiring.frozen_levels))
        async with ui.rt.db.transaction() as session:
            goto = await work(session)
    except TocsinError as refused:
        return await incident_page(request, who, incident_id, refused)
    return redirect(request, who, goto or f"/ui/incidents/{incident_id}", **({} if goto else {"done": action}))
