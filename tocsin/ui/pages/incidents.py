"""The home page: open incidents, newest first, with filters (GET parameters), counts per
status, and acknowledge / resolve / merge for several at once. Signed-out visitors get the
sign-in form.

The list refreshes itself while open: the page subscribes to ``/ui/feed`` (SSE) and, on each
``changed`` event, htmx fetches ``?part=list`` — the same template's ``list`` block, rendered
with the same filters — so the live list and a reload can never disagree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.errors import IncidentAlreadyResolved, InvalidInput, NotFound
from tocsin.incidents import alert_moves, logic
from tocsin.incidents.queries import get_incident, lock_incidents
from tocsin.incidents.schemas import IncidentUpdate
from tocsin.incidents.transition_writer import WEBSITE_CHANNEL
from tocsin.ui.pages.signin import sign_in_page
from tocsin.ui.views import Filters, incident_list_view, merge_choices_view
from tocsin.ui.web import Viewer, checked_form, fragment, one, page, redirect, require_scope, ui_of, viewer

router = APIRouter()
ACTIONS = {"acknowledge": "acknowledged", "resolve": "resolved"}
MAX_SELECTED = 100
NOTICES = {"acknowledged": "Acknowledged", "resolved": "Resolved"}


@router.get("/")
async def home(request: Request, who: Viewer = Depends(viewer)) -> Response:
    if who.user is None:
        return sign_in_page(request, who)
    require_scope(who, "incidents.read")
    ui = ui_of(request)
    filters = Filters.parse(request.query_params)
    view = await ui.rt.db.read(lambda s: incident_list_view(s, filters, who.user.id if who.user else "",
                                                             ui.rt.base_url, ui.rt.clock.now()))
    notice = None
    if (done := request.query_params.get("done")) in NOTICES:
        count = request.query_params.get("count", "")
        notice = f"{NOTICES[done]} {count if count.isdigit() else ''} incident(s).".replace("  ", " ")
    context: dict[str, Any] = {
        "view": view, "filters": filters, "qs": urlencode(filters.query()), "active": "incidents",
        "newer": urlencode(filters.query(filters.page - 1)), "older": urlencode(filters.query(filters.page + 1)),
        "can_write": who.may("incidents.write"), "notice": notice, "title": "Incidents"}
    if request.query_params.get("part") == "list":
        return fragment(request, who, "incidents.html", "list", **context)
    return page(request, who, "incidents.html", **context)


def _selected(form: dict[str, list[str]]) -> list[str]:
    return [i[:16] for i in dict.fromkeys(form.get("incident", []))][:MAX_SELECTED]


@router.post("/ui/incidents/bulk")
async def bulk(request: Request, who: Viewer = Depends(viewer)) -> Response:
    """Acknowledge or resolve the selected incidents, all or nothing, through the incidents logic
    (as ``PUT /incidents`` does); already-resolved ones are skipped, not an error: someone else
    was quicker, which is what a live page shows happening. Merging asks first which incident
    the others go into (a page of its own; nothing is changed yet)."""
    form = await checked_form(request, who)
    user = require_scope(who, "incidents.write")
    action = one(form, "action")
    if action not in (*ACTIONS, "merge"):
        raise InvalidInput(errors=["Choose acknowledge, resolve or merge"])
    ids = _selected(form)
    back = one(form, "back", "/")
    if action == "merge":
        return await _confirm_merge(request, who, ids, back)
    if not ids:
        return redirect(request, who, back)
    ui = ui_of(request)
    now = ui.rt.clock.now()
    done = 0
    async with ui.rt.db.transaction() as session:
        await lock_incidents(session, ids)
        for incident_id in ids:
            try:
                await logic.update_incident(session, incident_id, IncidentUpdate(status=ACTIONS[action]),  # type: ignore[arg-type]  # a checked literal
                                            user.id, now, via=WEBSITE_CHANNEL)
                done += 1
            except (IncidentAlreadyResolved, NotFound):
                continue
    return redirect(request, who, back, done=ACTIONS[action], count=done)


async def _confirm_merge(request: Request, who: Viewer, ids: list[str], back: str) -> Response:
    ui = ui_of(request)
    choices = await ui.rt.db.read(lambda s: merge_choices_view(s, ids, ui.rt.base_url, ui.rt.clock.now()))
    if len(choices.incidents) < 2:
        raise InvalidInput(errors=["Select at least two open incidents to merge"])
    local = back.startswith("/") and not back.startswith("//")  # the Cancel link stays on Tocsin
    return page(request, who, "merge.html", view=choices, back=back if local else "/", title="Merge incidents",
                active="incidents")


@router.post("/ui/incidents/merge")
async def merge(request: Request, who: Viewer = Depends(viewer)) -> Response:
    """The chosen target keeps its alerts and receives the others'; the others resolve, merged
    into it (``PUT /incidents/{target}/merge`` with them as sources), in one transaction."""
    form = await checked_form(request, who)
    user = require_scope(who, "incidents.write")
    ids, target = _selected(form), one(form, "target")[:16]
    if target not in ids:
        raise InvalidInput(errors=["target: choose one of the selected incidents to merge into"])
    sources = [i for i in ids if i != target]
    if not sources:
        raise InvalidInput(errors=["Select at least two open incidents to merge"])
    ui = ui_of(request)
    async with ui.rt.db.transaction() as session:
        await alert_moves.merge(session, target, sources, user.id, ui.rt.clock.now(), via=WEBSITE_CHANNEL)
        numbers = [str((await get_incident(session, i)).number) for i in sources]  # loaded by the merge
    return redirect(request, who, f"/ui/incidents/{target}", done="merged", merged=",".join(numbers))
