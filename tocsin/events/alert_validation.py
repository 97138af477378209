"""v2 alert events (``POST /v2/enqueue``): validation and normalisation. Pure."""
from __future__ import annotations

from typing import Any

from tocsin.events import event_fields as f


def validate_alert_event(obj: Any) -> tuple[f.ParsedEvent | None, list[str]]:
    """A v2 alert event (``POST /v2/enqueue``)."""
    if not isinstance(obj, dict):
        return None, [f.NOT_AN_OBJECT]
    errors: list[str] = []
    routing_key = f.integration_key(
        obj, "routing_key", "'routing_key'",
        "Length of 'routing_key' is incorrect (should be 32 characters)", errors,
    )
    action = f.choice(obj, "event_action", "'event_action'", f.EVENT_ACTIONS, errors)
    dedup_reader = f.optional_str if action in (None, "trigger") else f.required_str
    dedup_key = dedup_reader(obj, "dedup_key", "'dedup_key'", errors, f.MAX_DEDUP_KEY_LENGTH)

    fields: dict[str, Any] = {
        "summary": None, "source": None, "severity": None, "timestamp": None, "component": None, "group": None,
        "class_": None, "custom_details": None, "client": None, "client_url": None, "links": [], "images": [],
    }
    if action == "trigger":
        payload = f.read_payload(obj, errors)
        if payload is not None:
            fields.update(
                summary=f.required_str(
                    payload, "summary", "'payload.summary'", errors, f.MAX_SUMMARY_LENGTH
                ),
                source=f.required_str(payload, "source", "'payload.source'", errors),
                severity=f.choice(payload, "severity", "'payload.severity'", f.SEVERITIES, errors),
                timestamp=f.read_timestamp(payload, "timestamp", "'payload.timestamp'", errors),
                component=f.optional_str(payload, "component", "'payload.component'", errors),
                group=f.optional_str(payload, "group", "'payload.group'", errors),
                class_=f.optional_str(payload, "class", "'payload.class'", errors),
                custom_details=f.free_json(payload, "custom_details", "'payload.custom_details'", errors),
            )
        links, images = f.links_and_images(obj, errors)
        fields.update(
            client=f.optional_str(obj, "client", "'client'", errors),
            client_url=f.optional_str(obj, "client_url", "'client_url'", errors),
            links=links, images=images,
        )
    if errors:
        return None, errors
    assert routing_key is not None and action is not None
    return f.ParsedEvent(
        kind="alert", routing_key=routing_key, event_action=action, dedup_key=dedup_key,
        api_version="v2", **fields,
    ), []
