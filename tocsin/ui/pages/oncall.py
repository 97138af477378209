"""On call now: every escalation policy's levels (or only the viewer's policies), who is on call
at each and until when, who takes over next; and the viewer's own next shifts with their
calendar subscription link. Read-only: the same ``oncalls.read`` scope as ``GET /oncalls``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.ui.oncall_view import AHEAD, on_call_view
from tocsin.ui.web import Viewer, page, require_scope, ui_of, viewer

router = APIRouter()


@router.get("/ui/oncall")
async def on_call_now(request: Request, who: Viewer = Depends(viewer)) -> Response:
    user = require_scope(who, "oncalls.read")
    ui = ui_of(request)
    mine = request.query_params.get("mine") == "1"
    async with ui.rt.db.transaction() as session:
        view = await on_call_view(session, user.id, mine, ui.rt.base_url, ui.rt.clock.now())
    return page(request, who, "oncall.html", view=view, ahead_days=AHEAD.days, active="oncall", title="On call now")
