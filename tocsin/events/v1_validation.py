"""v1 generic events (``POST /generic/2010-04-15/create_event.json``): validation and
normalisation into the same ``ParsedEvent`` as v2. Pure."""
from __future__ import annotations

from typing import Any

from tocsin.events import event_fields as f

# v1 has no severity or source (see tocsin.events.validation).
V1_SEVERITY: f.Severity = "error"
V1_DEFAULT_SOURCE = "unknown"


def _contexts(value: Any, errors: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    links: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for path, item in f.object_items(value, "contexts", errors):
        kind = item.get("type")
        if kind == "link":
            link = f.read_link(item, path, errors)
            if link is not None:
                links.append(link)
        elif kind == "image":
            image = f.read_image(item, path, errors)
            if image is not None:
                images.append(image)
        elif kind is None or f.is_blank(kind):
            errors.append(f.missing(f"'{path}.type'"))
        else:
            errors.append(f.not_one_of(f"'{path}.type'", ("link", "image")))
    return links, images


def validate_v1_event(obj: Any) -> tuple[f.ParsedEvent | None, list[str]]:
    """A v1 generic event (``POST /generic/2010-04-15/create_event.json``). Top-level field
    names in messages use v1's own wording ("Service key", "Description", ...)."""
    if not isinstance(obj, dict):
        return None, [f.NOT_AN_OBJECT]
    errors: list[str] = []
    service_key = f.integration_key(
        obj, "service_key", "Service key",
        "Service key is the wrong length (should be 32 characters)", errors,
    )
    event_type = f.choice(obj, "event_type", "Event type", f.EVENT_ACTIONS, errors)
    is_trigger = event_type in (None, "trigger")
    key_reader = f.optional_str if is_trigger else f.required_str
    incident_key = key_reader(obj, "incident_key", "Incident key", errors, f.MAX_DEDUP_KEY_LENGTH)
    description_reader = f.required_str if event_type == "trigger" else f.optional_str
    description = description_reader(obj, "description", "Description", errors, f.MAX_SUMMARY_LENGTH)

    client = client_url = source = None
    severity: f.Severity | None = None
    details = f.free_json(obj, "details", "Details", errors)
    links: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    if event_type == "trigger":
        client = f.optional_str(obj, "client", "Client", errors)
        client_url = f.optional_str(obj, "client_url", "Client URL", errors)
        links, images = _contexts(obj.get("contexts"), errors)
        source = client if client is not None else V1_DEFAULT_SOURCE
        severity = V1_SEVERITY
    if errors:
        return None, errors
    assert service_key is not None and event_type is not None
    return f.ParsedEvent(
        kind="alert", routing_key=service_key, event_action=event_type, dedup_key=incident_key,
        summary=description, source=source, severity=severity, timestamp=None, component=None,
        group=None, class_=None, custom_details=details, client=client,
        client_url=client_url, links=links, images=images, api_version="v1",
    ), []
