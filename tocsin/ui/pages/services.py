"""Services: the list (status, open incidents, who is on call at level 1) and one service (who is
on call at each level, open and recent incidents, integrations with their keys and the Events API
URL). Reading needs ``services.read``; disabling or enabling one needs ``services.write`` and goes
through the services domain's logic (its rules and audit record), as ``PUT /services/{id}`` does."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput, NotFound
from tocsin.services import logic
from tocsin.services.schemas import ServiceFields
from tocsin.ui.service_view import service_detail, service_rows
from tocsin.ui.web import Viewer, actor, checked_form, one, page, redirect, require_scope, ui_of, viewer

router = APIRouter()
STATUS_CHOICES = {"active": "Enabled.", "disabled": "Disabled."}


@router.get("/ui/services")
async def services(request: Request, who: Viewer = Depends(viewer)) -> Response:
    require_scope(who, "services.read")
    ui = ui_of(request)
    rows = await ui.rt.db.read(lambda s: service_rows(s, ui.rt.clock.now()))
    return page(request, who, "services.html", rows=rows, active="services", title="Services")


@router.get("/ui/services/{service_id}")
async def service(service_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    require_scope(who, "services.read")
    ui = ui_of(request)
    try:
        view = await ui.rt.db.read(lambda s: service_detail(s, service_id, ui.rt.base_url, ui.rt.clock.now()))
    except NotFound:
        return page(request, who, "message.html", status=404, title="Service not found",
                    text="There is no such service.", link=("/ui/services", "Back to services"))
    return page(request, who, "service.html", view=view, service=view.service, active="services",
                can_write=who.may("services.write"), notice=STATUS_CHOICES.get(request.query_params.get("done", "")),
                title=view.service.name)


@router.post("/ui/services/{service_id}/status")
async def set_status(service_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    require_scope(who, "services.write")
    status = one(form, "status")
    if status not in STATUS_CHOICES:
        raise InvalidInput(errors=["Choose active or disabled"])
    ui = ui_of(request)
    async with ui.rt.db.transaction() as session:
        await logic.update_service(session, service_id, ServiceFields(status=status),  # type: ignore[arg-type]  # a checked literal
                                   actor(request, who), ui.rt.clock.now())
    return redirect(request, who, f"/ui/services/{service_id}", done=status)
