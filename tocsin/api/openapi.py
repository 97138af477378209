"""Adds the Events API, served outside FastAPI for speed, to the generated OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tocsin.api import docs


def _event_operation(summary: str, ok: int, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["Events API"],
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                str(ok): {"description": "Accepted and durably stored",
                          "content": {"application/json": {"example": example}}},
                "400": {"description": "Invalid event"},
                "403": {"description": "The client's address is not in the account's IP allow list for the Events API"},
                "413": {"description": "Body over 512 KB"},
                "429": {"description": "Too many events for this routing key"},
            },
        }
    }


EVENT_PATHS = {
    "/v2/enqueue": _event_operation(
        "Send an alert event (trigger, acknowledge, resolve)", 202,
        {"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"}),
    "/v2/change/enqueue": _event_operation(
        "Send a change event", 202, {"status": "success", "message": "Change event processed"}),
    "/generic/2010-04-15/create_event.json": _event_operation(
        "Send an Events API v1 event", 200,
        {"status": "success", "message": "Event processed", "incident_key": "srv01/HTTP"}),
}


def install(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema["paths"].update(EVENT_PATHS)
            schema.setdefault("components", {})["securitySchemes"] = {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "Token token=<api key>"},
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
    docs.install(app)
