"""``GET /webhook_ips``: where Tocsin's outbound deliveries come from, so receivers can allow-list
them (PagerDuty publishes its own at the same path). The addresses are configured
(``TOCSIN_WEBHOOK_IPS``) because only the operator knows the egress addresses of the network
Tocsin runs in; they may change with it. Public, like PagerDuty's: no credential needed."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from tocsin.http.runtime import Runtime, runtime

PATH = "/webhook_ips"
router = APIRouter(tags=["Webhooks"])


@router.get(PATH, response_model=list[str])
async def webhook_ips(rt: Runtime = Depends(runtime)) -> list[str]:
    """The JSON array of source addresses of webhooks and other outbound deliveries (empty
    when ``TOCSIN_WEBHOOK_IPS`` is not set). Subject to change with the deployment."""
    return list(rt.settings.webhook_ips)
