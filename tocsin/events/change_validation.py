"""v2 change events (``POST /v2/change/enqueue``): validation and normalisation. Pure."""
from __future__ import annotations

from typing import Any

from tocsin.events import event_fields as f


def validate_change_event(obj: Any) -> tuple[f.ParsedEvent | None, list[str]]:
    """A v2 change event (``POST /v2/change/enqueue``). ``event_action`` and alert-only fields
    are ignored; ``images`` is accepted like on alert events."""
    if not isinstance(obj, dict):
        return None, [f.NOT_AN_OBJECT]
    errors: list[str] = []
    routing_key = f.integration_key(
        obj, "routing_key", "'routing_key'",
        "Length of 'routing_key' is incorrect (should be 32 characters)", errors,
    )
    summary = source = timestamp = custom_details = None
    payload = f.read_payload(obj, errors)
    if payload is not None:
        summary = f.required_str(
            payload, "summary", "'payload.summary'", errors, f.MAX_SUMMARY_LENGTH
        )
        source = f.optional_str(payload, "source", "'payload.source'", errors)
        timestamp = f.read_timestamp(payload, "timestamp", "'payload.timestamp'", errors)
        custom_details = f.free_json(payload, "custom_details", "'payload.custom_details'", errors)
    links, images = f.links_and_images(obj, errors)
    if errors:
        return None, errors
    assert routing_key is not None
    return f.ParsedEvent(
        kind="change", routing_key=routing_key, event_action=None, dedup_key=None,
        summary=summary, source=source, severity=None, timestamp=timestamp, component=None,
        group=None, class_=None, custom_details=custom_details, client=None, client_url=None,
        links=links, images=images, api_version="v2",
    ), []
