"""Schedules: the list (zone, who is on call now) and one schedule drawn as a timeline over one to
four weeks in the viewer's zone, paged by plain links (the window is all in the URL, so nothing
on the client can go stale). Reading needs ``schedules.read``; creating an override needs
``schedules.write`` and goes through the schedules domain's override logic (its rules and audit
record), as ``POST /schedules/{id}/overrides`` does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from tocsin.errors import InvalidInput, NotFound
from tocsin.schedules import logic, override_logic
from tocsin.schedules.schemas import OverrideIn
from tocsin.ui.drawing import frame
from tocsin.ui.schedule_view import Window, parse_window, schedule_rows, schedule_view
from tocsin.ui.web import Viewer, actor, checked_form, one, page, redirect, require_scope, ui_of, viewer

router = APIRouter()
PATH = "/ui/schedules/{schedule_id}"


@router.get("/ui/schedules")
async def schedules(request: Request, who: Viewer = Depends(viewer)) -> Response:
    require_scope(who, "schedules.read")
    ui = ui_of(request)
    rows = await ui.rt.db.read(lambda s: schedule_rows(s, ui.rt.clock.now()))
    return page(request, who, "schedules.html", rows=rows, active="schedules", title="Schedules")


async def _show(request: Request, who: Viewer, schedule_id: str, window: Window, status: int = 200,
                error: str = "", form: dict[str, str] | None = None) -> Response:
    ui = ui_of(request)
    now = ui.rt.clock.now()
    can_write = who.may("schedules.write")
    try:
        view = await ui.rt.db.read(lambda s: schedule_view(s, schedule_id, window, now, can_write))
    except NotFound:
        return page(request, who, "message.html", status=404, title="Schedule not found",
                    text="There is no such schedule.", link=("/ui/schedules", "Back to schedules"))
    return page(request, who, "schedule.html", status=status, view=view, can_write=can_write, error=error,
                form=form or _default_form(now, window), active="schedules", title=view.schedule.name,
                notice=_notice(request))


def _notice(request: Request) -> str:
    return "Override created: it is drawn below." if request.query_params.get("done") == "override" else ""


def _default_form(now: datetime, window: Window) -> dict[str, str]:
    """The next whole hour on the viewer's clock, for four hours."""
    start = now.astimezone(window.zone).replace(minute=0, second=0, microsecond=0, tzinfo=None) + timedelta(hours=1)
    return {"user": "", "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")}


def _window(request: Request, who: Viewer, params: Any) -> Window:
    user = require_scope(who, "schedules.read")
    return parse_window(params, user.time_zone, ui_of(request).rt.clock.now())


@router.get(PATH)
async def show(schedule_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    window = _window(request, who, request.query_params)
    return await _show(request, who, schedule_id, window)


def _local(raw: str, what: str, window: Window) -> datetime:
    """A ``datetime-local`` value (``2030-01-02T09:00``), read on the viewer's clock."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(errors=[f"The {what} is not a date and time (YYYY-MM-DD HH:MM)"]) from None
    return value.replace(tzinfo=window.zone) if value.tzinfo is None else value


def _override(form: dict[str, str], window: Window) -> OverrideIn:
    problems = [text for key, text in (("user", "Choose who takes the override"), ("start", "Choose a start"),
                                       ("end", "Choose an end")) if not form[key]]
    if problems:
        raise InvalidInput(errors=problems)
    fields = {"start": _local(form["start"], "start", window), "end": _local(form["end"], "end", window),
              "user": {"id": form["user"][:16], "type": "user_reference"}}
    try:
        return OverrideIn.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(errors=[f"The {'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                                   for e in exc.errors()]) from None


@router.post(PATH + "/overrides")
async def create_override(schedule_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    posted = await checked_form(request, who)
    require_scope(who, "schedules.write")
    # The window the form was sent from (hidden fields), so the answer shows the same weeks.
    asked = {"start": one(posted, "window_start"), "weeks": one(posted, "weeks"), "tz": one(posted, "tz")}
    window = _window(request, who, {k: v for k, v in asked.items() if v})
    form = {k: one(posted, k).strip()[:40] for k in ("user", "start", "end")}
    ui = ui_of(request)
    try:
        override = _override(form, window)
        async with ui.rt.db.transaction() as session:
            schedule = await logic.get_schedule(session, schedule_id)
            row = await override_logic.create_override(session, schedule, override, actor(request, who),
                                                       ui.rt.clock.now())
    except InvalidInput as refused:
        text = "; ".join(_plain(e) for e in refused.errors) or refused.message
        return await _show(request, who, schedule_id, window, 400, f"The override was not created: {text}.", form)
    f = frame(window.first_day, window.weeks, window.zone)
    if row.end <= f.since or row.start >= f.until:  # out of sight: show the weeks it starts in
        window = replace(window, first_day=row.start.astimezone(window.zone).date())
    return redirect(request, who, window.link(schedule_id), done="override")


def _plain(error: str) -> str:
    """The domain's messages name the REST body's fields (``override.end: ...``); the form's
    fields are named in words."""
    for field, words in (("override.end: ", ""), ("override.user.id: user", "the person"),
                         ("override.start: ", "")):
        if error.startswith(field):
            return (words + error[len(field):]).strip()
    return error
