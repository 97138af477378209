"""REST routes: /webhook_subscriptions (PagerDuty's), plus Tocsin's secret rotation and the
deliveries each subscription made (with every attempt) and their manual redelivery; a service's
forwarders and chat webhooks are in ``relay_routes`` (included here).

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
from tocsin.webhooks import logic, relay_routes
from tocsin.webhooks.relay_routes import deliveries_page
from tocsin.webhooks.schemas import SubscriptionCreateBody, SubscriptionUpdateBody
from tocsin.webhooks.wire import delivery_json, subscription_json

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
    return await deliveries_page(request, rt, subscription_id,
                                 lambda session: logic.get_subscription(session, subscription_id))


@router.post("/webhook_subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver(subscription_id: str, delivery_id: str, principal: Principal = Depends(WRITE),
                    rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Tocsin extension: send a finished delivery's event again, as a new delivery."""
    async with rt.db.transaction() as session:
        delivery = await logic.redeliver(session, subscription_id, delivery_id, rt.clock.now())
        attempts = await logic.attempts_of(session, [delivery])
    return {"delivery": delivery_json(delivery, attempts[delivery.seq])}


# A service's forwarders and chat webhooks (Tocsin extensions).
router.include_router(relay_routes.router)
