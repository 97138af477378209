"""REST routes: /webhook_subscriptions (PagerDuty's), plus Tocsin's secret rotation and the
deliveries each subscription made (with every attempt) and their manual redelivery; and a service's
forwarders (to an upstream Events API v2) and chat webhooks, under /services/{id} (Tocsin
extensions, admin-only like webhook subscriptions).

PagerDuty's quirks kept: creating answers 200 (not 201), ping answers 202."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented, text_filter
from tocsin.http.runtime import Runtime, runtime
from tocsin.webhooks import logic, relays
from tocsin.webhooks.models import CHAT, FORWARDER
from tocsin.webhooks.schemas import (
    ChatCreateBody,
    ChatUpdateBody,
    ForwarderCreateBody,
    ForwarderUpdateBody,
    SubscriptionCreateBody,
    SubscriptionUpdateBody,
)
from tocsin.webhooks.wire import delivery_json, relay_json, subscription_json

router = APIRouter(tags=["Webhooks"])
READ = Depends(require("webhook_subscriptions.read"))
WRITE = require("webhook_subscriptions.write")


def _json(sub: logic.Subscription, secret: str | None = None) -> dict[str, Any]:
    return {"webhook_subscription": subscription_json(sub.destination, sub.settings, secret=secret)}


@router.get("/webhook_subscriptions", dependencies=[READ], openapi_extra=documented(*PAGE, "filter_type", "filter_id"))
async def list_subscriptions(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    query = logic.list_query(text_filter(request, "filter_type"), text_filter(request, "filter_id"))
    async with rt.db.transaction() as session:
        rows = list((await session.execute(query.offset(p.offset).limit(p.limit + 1))).all())
        total = None
        if p.want_total:
            total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    more = len(rows) > p.limit
    items = [subscription_json(d, s) for d, s in rows[:p.limit]]
    return p.body("webhook_subscriptions", items, total, more)


@router.post("/webhook_subscriptions", status_code=200)
async def create_subscription(body: SubscriptionCreateBody, request: Request, principal: Principal = Depends(WRITE),
                              rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        sub, secret = await logic.create_subscription(session, body.webhook_subscription,
                                                      audit_actor(principal, request), rt.clock.now())
    return _json(sub, secret)


@router.get("/webhook_subscriptions/{subscription_id}", dependencies=[READ])
async def get_subscription(subscription_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        return _json(await logic.get_subscription(session, subscription_id))


@router.put("/webhook_subscriptions/{subscription_id}")
async def update_subscription(subscription_id: str, body: SubscriptionUpdateBody, request: Request,
                              principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        sub = await logic.update_subscription(session, subscription_id, body.webhook_subscription,
                                              audit_actor(principal, request), rt.clock.now())
    return _json(sub)


@router.delete("/webhook_subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(subscription_id: str, request: Request, principal: Principal = Depends(WRITE),
                              rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        await logic.delete_subscription(session, subscription_id, audit_actor(principal, request), rt.clock.now())
    return Response(status_code=204)


@router.post("/webhook_subscriptions/{subscription_id}/enable")
async def enable_subscription(subscription_id: str, request: Request, principal: Principal = Depends(WRITE),
                              rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        sub = await logic.enable_subscription(session, subscription_id, audit_actor(principal, request),
                                              rt.clock.now())
    return _json(sub)


@router.post("/webhook_subscriptions/{subscription_id}/ping", status_code=202,
             dependencies=[Depends(WRITE)])
async def ping(subscription_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    async with rt.db.transaction() as session:
        delivery_id = await logic.ping(session, subscription_id, rt.clock.now())
    return JSONResponse({"webhook_delivery": {"id": delivery_id, "type": "webhook_delivery"}}, status_code=202)


@router.post("/webhook_subscriptions/{subscription_id}/rotate_secret")
async def rotate_secret(subscription_id: str, request: Request, principal: Principal = Depends(WRITE),
                        rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: a new signing secret, shown in this answer only. For
    ``logic.ROTATION_GRACE`` (24 hours) the previous secret signs too (two ``v1=`` values)."""
    async with rt.db.transaction() as session:
        sub, secret = await logic.rotate_secret(session, subscription_id, audit_actor(principal, request),
                                                rt.clock.now())
    return _json(sub, secret)


@router.get("/webhook_subscriptions/{subscription_id}/deliveries", dependencies=[READ],
            openapi_extra=documented(*PAGE, "status"))
async def list_deliveries(subscription_id: str, request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: the subscription's deliveries, newest first, each with every attempt
    (time, status code, latency, error), so an operator can see why a receiver fails."""
    p = page(request)
    query = logic.deliveries_query(subscription_id, text_filter(request, "status"))
    async with rt.db.transaction() as session:
        await logic.get_subscription(session, subscription_id)
        rows, total, more = await p.fetch_page(session, query)
        attempts = await logic.attempts_of(session, rows)
    return p.body("deliveries", [delivery_json(d, attempts[d.seq]) for d in rows], total, more)


@router.post("/webhook_subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver(subscription_id: str, delivery_id: str, principal: Principal = Depends(WRITE),
                    rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: send a finished delivery's event again, as a new delivery."""
    async with rt.db.transaction() as session:
        delivery = await logic.redeliver(session, subscription_id, delivery_id, rt.clock.now())
        attempts = await logic.attempts_of(session, [delivery])
    return {"delivery": delivery_json(delivery, attempts[delivery.seq])}


# --- a service's forwarders and chat webhooks (Tocsin extensions) ------------------------------------

def _relay_json(found: relays.Relay) -> dict[str, Any]:
    kind_type = relays.RESOURCES[found.kind]
    return {kind_type: relay_json(kind_type, found.destination, found.settings.service_id,
                                  found.settings.description, found.actions, found.settings.urgencies,
                                  found.settings.acting_user_id)}


@router.get("/services/{service_id}/forwarders", dependencies=[READ])
async def list_forwarders(service_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: the service's forwarders to upstream Events APIs (v2)."""
    async with rt.db.transaction() as session:
        found = await relays.list_of(session, FORWARDER, service_id)
    return {"forwarders": [_relay_json(f)["forwarder"] for f in found]}


@router.post("/services/{service_id}/forwarders", status_code=201)
async def create_forwarder(service_id: str, body: ForwarderCreateBody, request: Request,
                           principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: forward the service's incidents to an upstream PagerDuty-compatible Events
    API v2 (``url``, default PagerDuty's) with ``integration_key`` as the routing key."""
    async with rt.db.transaction() as session:
        found = await relays.create(session, FORWARDER, service_id, body.forwarder, audit_actor(principal, request),
                                    rt.clock.now())
    return _relay_json(found)


@router.get("/services/{service_id}/forwarders/{forwarder_id}", dependencies=[READ])
async def get_forwarder(service_id: str, forwarder_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        return _relay_json(await relays.get(session, FORWARDER, service_id, forwarder_id))


@router.put("/services/{service_id}/forwarders/{forwarder_id}")
async def update_forwarder(service_id: str, forwarder_id: str, body: ForwarderUpdateBody, request: Request,
                           principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        found = await relays.update(session, FORWARDER, service_id, forwarder_id, body.forwarder,
                                    audit_actor(principal, request), rt.clock.now())
    return _relay_json(found)


@router.delete("/services/{service_id}/forwarders/{forwarder_id}", status_code=204)
async def delete_forwarder(service_id: str, forwarder_id: str, request: Request,
                           principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        await relays.delete(session, FORWARDER, service_id, forwarder_id, audit_actor(principal, request),
                            rt.clock.now())
    return Response(status_code=204)


@router.post("/services/{service_id}/forwarders/{forwarder_id}/enable")
async def enable_forwarder(service_id: str, forwarder_id: str, request: Request,
                           principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        found = await relays.enable(session, FORWARDER, service_id, forwarder_id, audit_actor(principal, request),
                                    rt.clock.now())
    return _relay_json(found)


@router.post("/services/{service_id}/forwarders/{forwarder_id}/test", status_code=202,
             dependencies=[Depends(WRITE)])
async def send_forwarder_test(service_id: str, forwarder_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    """Tocsin extension: send a trigger whose summary starts with ``[Test message]``, then its resolve."""
    async with rt.db.transaction() as session:
        ids = await relays.test(session, FORWARDER, service_id, forwarder_id, rt.base_url, rt.clock.now())
    return JSONResponse({"deliveries": [{"id": i, "type": "webhook_delivery"} for i in ids]}, status_code=202)


@router.get("/services/{service_id}/forwarders/{forwarder_id}/deliveries", dependencies=[READ],
            openapi_extra=documented(*PAGE, "status"))
async def forwarder_deliveries(service_id: str, forwarder_id: str, request: Request,
                               rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    return await _relay_deliveries(FORWARDER, service_id, forwarder_id, request, rt)


async def _relay_deliveries(kind: str, service_id: str, relay_id: str, request: Request,
                            rt: Runtime) -> dict[str, Any]:
    p = page(request)
    query = logic.deliveries_query(relay_id, text_filter(request, "status"))
    async with rt.db.transaction() as session:
        await relays.get(session, kind, service_id, relay_id)
        rows, total, more = await p.fetch_page(session, query)
        attempts = await logic.attempts_of(session, rows)
    return p.body("deliveries", [delivery_json(d, attempts[d.seq]) for d in rows], total, more)


@router.get("/services/{service_id}/chat_webhooks", dependencies=[READ])
async def list_chat_webhooks(service_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: the service's Slack-compatible chat webhooks."""
    async with rt.db.transaction() as session:
        found = await relays.list_of(session, CHAT, service_id)
    return {"chat_webhooks": [_relay_json(f)["chat_webhook"] for f in found]}


@router.post("/services/{service_id}/chat_webhooks", status_code=201)
async def create_chat_webhook(service_id: str, body: ChatCreateBody, request: Request,
                              principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: post a message to a Slack-compatible incoming webhook (Slack, Mattermost,
    Rocket.Chat) when the service's incidents trigger, are acknowledged, escalate or resolve."""
    async with rt.db.transaction() as session:
        found = await relays.create(session, CHAT, service_id, body.chat_webhook, audit_actor(principal, request),
                                    rt.clock.now())
    return _relay_json(found)


@router.get("/services/{service_id}/chat_webhooks/{chat_id}", dependencies=[READ])
async def get_chat_webhook(service_id: str, chat_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        return _relay_json(await relays.get(session, CHAT, service_id, chat_id))


@router.put("/services/{service_id}/chat_webhooks/{chat_id}")
async def update_chat_webhook(service_id: str, chat_id: str, body: ChatUpdateBody, request: Request,
                              principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        found = await relays.update(session, CHAT, service_id, chat_id, body.chat_webhook,
                                    audit_actor(principal, request), rt.clock.now())
    return _relay_json(found)


@router.delete("/services/{service_id}/chat_webhooks/{chat_id}", status_code=204)
async def delete_chat_webhook(service_id: str, chat_id: str, request: Request,
                              principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        await relays.delete(session, CHAT, service_id, chat_id, audit_actor(principal, request), rt.clock.now())
    return Response(status_code=204)


@router.post("/services/{service_id}/chat_webhooks/{chat_id}/enable")
async def enable_chat_webhook(service_id: str, chat_id: str, request: Request,
                              principal: Principal = Depends(WRITE), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        found = await relays.enable(session, CHAT, service_id, chat_id, audit_actor(principal, request),
                                    rt.clock.now())
    return _relay_json(found)


@router.post("/services/{service_id}/chat_webhooks/{chat_id}/test", status_code=202,
             dependencies=[Depends(WRITE)])
async def send_chat_test(service_id: str, chat_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    """Tocsin extension: post a ``[Test message]`` trigger message, then its resolve message."""
    async with rt.db.transaction() as session:
        ids = await relays.test(session, CHAT, service_id, chat_id, rt.base_url, rt.clock.now())
    return JSONResponse({"deliveries": [{"id": i, "type": "webhook_delivery"} for i in ids]}, status_code=202)


@router.get("/services/{service_id}/chat_webhooks/{chat_id}/deliveries", dependencies=[READ],
            openapi_extra=documented(*PAGE, "status"))
async def chat_deliveries(service_id: str, chat_id: str, request: Request,
                          rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    return await _relay_deliveries(CHAT, service_id, chat_id, request, rt)
