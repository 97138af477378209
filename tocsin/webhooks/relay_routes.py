"""REST routes of a service's forwarders (to an upstream Events API v2) and chat webhooks, under
/services/{id} (Tocsin extensions, admin-only like webhook subscriptions), and the deliveries page
every destination shares.

Both kinds have the same routes (list, create, show, update, delete, enable, test, deliveries) and
the same logic (``relays``, by kind), so one function makes them per kind; only the request bodies
differ, and each kind's body is read by a small dependency of its own (``_Kind.create``/``update``),
so the OpenAPI document still shows each kind's schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented, text_filter
from tocsin.http.runtime import Runtime, runtime
from tocsin.webhooks import logic, relays
from tocsin.webhooks.models import CHAT, FORWARDER
from tocsin.webhooks.schemas import (
    ChatCreate,
    ChatCreateBody,
    ChatFields,
    ChatUpdateBody,
    ForwarderCreate,
    ForwarderCreateBody,
    ForwarderFields,
    ForwarderUpdateBody,
)
from tocsin.webhooks.wire import delivery_json, relay_json

router = APIRouter(tags=["Webhooks"])
READ = Depends(require("webhook_subscriptions.read"))
WRITE = require("webhook_subscriptions.write")


async def deliveries_page(request: Request, rt: Runtime, destination_id: str,
                          exists: Callable[[AsyncSession], Awaitable[object]]) -> dict[str, Any]:
    """A destination's deliveries, newest first, each with every attempt; ``exists`` raises the
    destination's 404."""
    p = page(request)
    query = logic.deliveries_query(destination_id, text_filter(request, "status"))
    async with rt.db.transaction() as session:
        await exists(session)
        rows, total, more = await p.fetch_page(session, query)
        attempts = await logic.attempts_of(session, rows)
    return p.body("deliveries", [delivery_json(d, attempts[d.seq]) for d in rows], total, more)


def relay_body(found: relays.Relay) -> dict[str, Any]:
    """A forwarder or chat webhook as the API shows it (its integration key never)."""
    return relay_json(relays.RESOURCES[found.kind], found.destination, found.settings.service_id,
                      found.settings.description, found.actions, found.settings.urgencies,
                      found.settings.acting_user_id)


def _forwarder_create(body: ForwarderCreateBody) -> ForwarderCreate:
    return body.forwarder


def _forwarder_update(body: ForwarderUpdateBody) -> ForwarderFields:
    return body.forwarder


def _chat_create(body: ChatCreateBody) -> ChatCreate:
    return body.chat_webhook


def _chat_update(body: ChatUpdateBody) -> ChatFields:
    return body.chat_webhook


@dataclass(frozen=True)
class _Kind:
    kind: str
    create: Callable[..., ForwarderCreate | ChatCreate]
    update: Callable[..., ForwarderFields | ChatFields]
    about: str  # what one is, for the create route's description
    test: str  # what its test sends


KINDS = (
    _Kind(FORWARDER, _forwarder_create, _forwarder_update,
          "Forward the service's incidents to an upstream PagerDuty-compatible Events API v2 (``url``, default "
          "PagerDuty's) with ``integration_key`` as the routing key.",
          "a trigger whose summary starts with ``[Test message]``, then its resolve"),
    _Kind(CHAT, _chat_create, _chat_update,
          "Post a message to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat) when the "
          "service's incidents trigger, are acknowledged, escalate or resolve.",
          "a ``[Test message]`` trigger message, then its resolve message"),
)


def add_routes(spec: _Kind) -> None:
    kind, one = spec.kind, relays.RESOURCES[spec.kind]
    collection = relays.COLLECTIONS[kind]
    base, item = f"/services/{{service_id}}/{collection}", f"/services/{{service_id}}/{collection}/{{relay_id}}"
    noun = relays.NOUNS[kind]

    @router.get(base, dependencies=[READ], name=f"list_{collection}",
                description=f"Tocsin extension: the service's {noun}s.")
    async def list_(service_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
        async with rt.db.transaction() as session:
            found = await relays.list_of(session, kind, service_id)
        return {collection: [relay_body(f) for f in found]}

    @router.post(base, status_code=201, name=f"create_{one}", description=f"Tocsin extension: {spec.about}")
    async def create(service_id: str, request: Request, fields: ForwarderCreate | ChatCreate = Depends(spec.create),
                     principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
        async with rt.db.transaction() as session:
            found = await relays.create(session, kind, service_id, fields, audit_actor(principal, request),
                                        rt.clock.now())
        return {one: relay_body(found)}

    @router.get(item, dependencies=[READ], name=f"get_{one}")
    async def get(service_id: str, relay_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
        async with rt.db.transaction() as session:
            return {one: relay_body(await relays.get(session, kind, service_id, relay_id))}

    @router.put(item, name=f"update_{one}")
    async def update(service_id: str, relay_id: str, request: Request,
                     fields: ForwarderFields | ChatFields = Depends(spec.update),
                     principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
        async with rt.db.transaction() as session:
            found = await relays.update(session, kind, service_id, relay_id, fields,
                                        audit_actor(principal, request), rt.clock.now())
        return {one: relay_body(found)}

    @router.delete(item, status_code=204, name=f"delete_{one}")
    async def delete(service_id: str, relay_id: str, request: Request, principal: Principal = Depends(WRITE),
                     rt: Runtime = Depends(runtime)) -> Response:
        async with rt.db.transaction() as session:
            await relays.delete(session, kind, service_id, relay_id, audit_actor(principal, request), rt.clock.now())
        return Response(status_code=204)

    @router.post(f"{item}/enable", name=f"enable_{one}")
    async def enable(service_id: str, relay_id: str, request: Request, principal: Principal = Depends(WRITE),
                     rt: Runtime = Depends(runtime)) -> dict[str, Any]:
        async with rt.db.transaction() as session:
            found = await relays.enable(session, kind, service_id, relay_id, audit_actor(principal, request),
                                        rt.clock.now())
        return {one: relay_body(found)}

    @router.post(f"{item}/test", status_code=202, dependencies=[Depends(WRITE)], name=f"test_{one}",
                 description=f"Tocsin extension: send {spec.test}.")
    async def test(service_id: str, relay_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
        async with rt.db.transaction() as session:
            ids = await relays.test(session, kind, service_id, relay_id, rt.base_url, rt.clock.now())
        return JSONResponse({"deliveries": [{"id": i, "type": "webhook_delivery"} for i in ids]}, status_code=202)

    @router.get(f"{item}/deliveries", dependencies=[READ], name=f"{one}_deliveries",
                openapi_extra=documented(*PAGE, "status"))
    async def deliveries(service_id: str, relay_id: str, request: Request,
                         rt: Runtime = Depends(runtime)) -> dict[str, Any]:
        return await deliveries_page(request, rt, relay_id,
                                     lambda session: relays.get(session, kind, service_id, relay_id))


for _spec in KINDS:
    add_routes(_spec)
