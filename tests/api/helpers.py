"""The REST route table as the access and fuzz tests walk it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

# Routes a client reaches without a credential on purpose.
PUBLIC = {"/health", "/openapi.json",
          # OAuth token endpoint: the client authenticates in the body (RFC 6749 2.3)
          "/oauth/token",
          # secret iCal feeds: the token in the path is the credential (tocsin.schedules.feeds)
          "/private/{token}/feed/{schedule_id}", "/private/{token}/feed/users/{user_id}",
          # a notification's action link: the signed token in the path is the credential, for one
          # incident and one user (tocsin.engine.routes; tests/engine/test_action_links.py)
          "/notification_actions/{token}",
          # Twilio's inbound webhooks: Twilio sends no API key; every request must carry a valid
          # X-Twilio-Signature instead (tocsin.engine.twilio_routes; tests/engine/test_twilio_inbound.py)
          "/twilio/sms", "/twilio/voice/{token}",
          # the addresses outbound deliveries come from: public at PagerDuty too (tocsin.api.webhook_ips)
          "/webhook_ips"}
PUBLIC_PREFIXES = ("/docs", "/redoc")


def _entries(app: FastAPI) -> list[Any]:
    try:  # FastAPI >= 0.16x keeps included routers nested; this flattens them with their paths
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def rest_routes(app: FastAPI) -> list[tuple[str, str, Any]]:
    """(method, path template, dependant) of every non-public route."""
    found: list[tuple[str, str, Any]] = []
    for entry in _entries(app):
        path = entry.path
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        dependant = getattr(entry, "dependant", None)
        assert dependant is not None, f"{path} is not a FastAPI route, so no access check can be declared on it"
        for method in sorted(set(entry.methods) - {"HEAD", "OPTIONS"}):
            found.append((method, path, dependant))
    return found
