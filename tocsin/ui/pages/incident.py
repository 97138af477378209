"""One incident: what it is, where its escalation stands (with a countdown to the next step),
its timeline (log entries, each page sent with its channel and outcome, notes) and alerts, kept
live like the list; and the forms of every action a responder takes (``incident_actions``
handles their posts). A refused action shows the page again with the domain's errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.errors import NotFound, TocsinError
from tocsin.incidents.schemas import MAX_NOTE
from tocsin.ui.views import incident_detail_view
from tocsin.ui.web import Viewer, fragment, page, redirect, require_scope, ui_of, viewer

router = APIRouter()
PATH = "/ui/incidents/{incident_id}"
SNOOZE_CHOICES = ((30, "30 minutes"), (60, "1 hour"), (240, "4 hours"), (480, "8 hours"), (1440, "24 hours"))
NOTICES = {
    "acknowledge": "Acknowledged.", "resolve": "Resolved.", "note": "Note added.", "snooze": "Snoozed.",
    "escalate": "Escalated.", "reassign": "Reassigned.", "delegate": "Reassigned to the escalation policy.",
    "priority": "Priority changed.", "urgency": "Urgency changed.",
}


def _notice(params: Any) -> str | None:
    if params.get("done") == "merged":
        numbers = [n for n in params.get("merged", "").split(",") if n.isdigit()][:100]
        if len(numbers) == 1:
            return f"Incident #{numbers[0]} was merged into this one."
        return f"Incidents {', '.join('#' + n for n in numbers)} were merged into this one." if numbers else "Merged."
    return NOTICES.get(params.get("done", ""))


@router.get(PATH)
async def show(incident_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    if who.user is None:
        return redirect(request, who, f"/ui/sign-in?next=/ui/incidents/{incident_id}")
    return await incident_page(request, who, incident_id)


async def incident_page(request: Request, who: Viewer, incident_id: str,
                        refused: TocsinError | None = None) -> Response:
    """The page (or its ``live`` block); with ``refused``, the action's errors above the forms,
    answered with the error's status."""
    require_scope(who, "incidents.read")
    ui = ui_of(request)
    can_write = who.may("incidents.write")
    try:
        view = await ui.rt.db.read(lambda s: incident_detail_view(s, incident_id, ui.rt.base_url,
                                                                  ui.rt.clock.now(), can_write))
    except NotFound:
        return page(request, who, "message.html", status=404, title="Incident not found",
                    text="There is no such incident.", link=("/", "Back to incidents"))
    error = None
    if refused is not None:
        error = f"{refused.message}: {' '.join(refused.errors)}" if refused.errors else refused.message
    context: dict[str, Any] = {
        "view": view, "incident": view.incident, "can_write": can_write, "snooze_choices": SNOOZE_CHOICES,
        "notice": None if refused else _notice(request.query_params), "error": error, "max_note": MAX_NOTE,
        "title": f"#{view.incident.number} {view.incident.title}"}
    if request.query_params.get("part") == "live":
        return fragment(request, who, "incident.html", "live", **context)
    return page(request, who, "incident.html", status=refused.status_code if refused else 200, **context)
