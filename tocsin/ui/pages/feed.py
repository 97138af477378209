"""``GET /ui/feed``: Server-Sent Events telling an open page that what it shows changed.

An event carries no data a page renders: it only says "changed" (for one incident's page, only
when that incident changed), and the page fetches its own fresh fragment, with the viewer's own
access checks. Changes are gathered for ``GATHER_SECONDS`` first, so a burst is one event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from tocsin.ui.feed import GATHER_SECONDS
from tocsin.ui.web import SECURITY_HEADERS, Viewer, require_scope, ui_of, viewer

router = APIRouter()
PING_SECONDS = 15


@router.get("/ui/feed")
async def feed(request: Request, who: Viewer = Depends(viewer)) -> Response:
    require_scope(who, "incidents.read")
    broadcaster = ui_of(request).broadcaster
    incident_id = request.query_params.get("incident") or None
    subscription = broadcaster.subscribe()

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            # Anything may have changed while the page was loading or reconnecting.
            yield ServerSentEvent(data="hello", event="changed")
            while True:
                await subscription.event.wait()
                await asyncio.sleep(GATHER_SECONDS)
                everything, ids = subscription.take()
                if everything or incident_id is None or incident_id in ids:
                    yield ServerSentEvent(data=str(len(ids)), event="changed")
        finally:
            broadcaster.unsubscribe(subscription)

    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"}
    return EventSourceResponse(events(), ping=PING_SECONDS, headers=headers)
