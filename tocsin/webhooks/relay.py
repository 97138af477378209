"""What a forwarder and a chat webhook send, made from a stored v3 event body (pure: no I/O).

The outbox renders every change once, as the v3 webhook body; a forwarder or a chat webhook reads
that body back at send time and sends its own shape:

- forwarder: an Events API v2 event (``routing_key``, ``event_action``, ``dedup_key``,
  ``payload``, ``links``). The dedup key is the incident's key (its ``incident_key``, else its id),
  so every later event of the incident reaches the same upstream incident: it triggers,
  acknowledges and resolves in step with this one.
- chat: a Slack-compatible incoming-webhook body (Slack, Mattermost and Rocket.Chat accept it):
  ``text`` plus one simple attachment, with the incident's link.

Which of an incident's v3 events each kind queues (``FORWARDED``, ``CHATTED``) is chosen here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from tocsin.webhooks.request import CONTENT_TYPE, OutboundRequest

Json = dict[str, Any]

TRIGGER, ACKNOWLEDGE, RESOLVE, ESCALATE = "trigger", "acknowledge", "resolve", "escalate"
# Events API actions -> the v3 events that map to them (a reopened incident triggers again upstream).
FORWARDED: dict[str, tuple[str, ...]] = {
    TRIGGER: ("incident.triggered", "incident.reopened"),
    ACKNOWLEDGE: ("incident.acknowledged",),
    RESOLVE: ("incident.resolved",),
}
CHATTED: dict[str, tuple[str, ...]] = {
    TRIGGER: ("incident.triggered", "incident.reopened"),
    ACKNOWLEDGE: ("incident.acknowledged",),
    ESCALATE: ("incident.escalated",),
    RESOLVE: ("incident.resolved",),
}
URGENCIES = ("high", "low")
DEFAULT_EVENTS_API = "https://events.pagerduty.com/v2/enqueue"
TEST_PREFIX = "[Test message]"
USER_AGENT = "Tocsin-Forwarder/1.0"
SUMMARY_LIMIT = 1024  # the Events API's summary limit


def v3_types(actions: list[str], table: dict[str, tuple[str, ...]]) -> list[str]:
    """The v3 event types the outbox queues for these actions, in a stable order."""
    return [t for action in table if action in actions for t in table[action]]


def actions_of(v3: list[str], table: dict[str, tuple[str, ...]]) -> list[str]:
    return [action for action, types in table.items() if any(t in v3 for t in types)]


def _action(event_type: str, table: dict[str, tuple[str, ...]]) -> str | None:
    return next((action for action, types in table.items() if event_type in types), None)


def _event(body: str) -> tuple[str, Json]:
    event = orjson.loads(body).get("event") or {}
    data = event.get("data") or {}
    return str(event.get("event_type", "")), data if isinstance(data, dict) else {}


def _service_name(data: Json) -> str:
    service = data.get("service") or {}
    return str(service.get("summary") or service.get("id") or "Tocsin")


def dedup_key(data: Json) -> str:
    return str(data.get("incident_key") or data.get("id") or "")


def events_api_body(body: str, routing_key: str) -> Json | None:
    """The Events API v2 event for a stored v3 event body (None: not one a forwarder sends)."""
    event_type, data = _event(body)
    action = _action(event_type, FORWARDED)
    if action is None:
        return None
    event: Json = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(data)}
    if action == TRIGGER:
        severity = "critical" if data.get("urgency") == "high" else "warning"
        event["payload"] = {"summary": str(data.get("title") or "Incident")[:SUMMARY_LIMIT],
                            "source": f"Tocsin service {_service_name(data)}", "severity": severity,
                            "custom_details": {"incident_number": data.get("number"),
                                               "urgency": data.get("urgency")}}
        if data.get("html_url"):
            event["links"] = [{"href": data["html_url"], "text": "Incident in the sending Tocsin"}]
    return event


def forwarder_request(url: str, body: str, routing_key: str, delivery_id: str) -> OutboundRequest | str:
    made = events_api_body(body, routing_key)
    if made is None:
        return "not an event a forwarder sends"
    return OutboundRequest(url, (("Content-Type", CONTENT_TYPE), ("User-Agent", USER_AGENT),
                                 ("X-Webhook-Id", delivery_id)), orjson.dumps(made))


HEADLINES = {TRIGGER: "Triggered", ACKNOWLEDGE: "Acknowledged", ESCALATE: "Escalated", RESOLVE: "Resolved"}
COLOURS = {TRIGGER: "#d0312d", ACKNOWLEDGE: "#f2a900", ESCALATE: "#d0312d", RESOLVE: "#2eb67d"}


def _escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat_body(body: str, actions: dict[str, str] | None = None) -> Json | None:
    """The chat message for a stored v3 event body (None: not one a chat webhook sends). The
    incident's link opens it in Tocsin, where the reader acknowledges or resolves it signed in;
    ``actions`` (acknowledge/resolve -> a signed action link, when the chat webhook has an acting
    user) adds one-click links while the incident is open."""
    event_type, data = _event(body)
    action = _action(event_type, CHATTED)
    if action is None:
        return None
    title = _escape(str(data.get("title") or "Incident"))
    number = data.get("number")
    url = str(data.get("html_url") or "")
    name = f"#{number} {title}" if number is not None else title
    linked = f"<{url}|{name}>" if url else name
    service = _escape(_service_name(data))
    text = f"{HEADLINES[action]}: {linked} on {service}"
    fields = [{"title": "Status", "value": str(data.get("status") or ""), "short": True},
              {"title": "Urgency", "value": str(data.get("urgency") or ""), "short": True}]
    assignees = [str(a.get("summary") or a.get("id")) for a in data.get("assignees") or [] if isinstance(a, dict)]
    if assignees:
        fields.append({"title": "Assigned to", "value": _escape(", ".join(assignees)), "short": False})
    attachment: Json = {"fallback": f"{HEADLINES[action]}: {name} on {service}", "color": COLOURS[action],
                        "title": name, "fields": fields}
    if url:
        attachment["title_link"] = url
        attachment["text"] = f"<{url}|Open the incident> to acknowledge or resolve it"
    offered = [(a, link) for a, link in (actions or {}).items()
               if data.get("status") != "resolved" and not (a == ACKNOWLEDGE and data.get("status") == "acknowledged")]
    if offered:
        clicks = " | ".join(f"<{link}|{a.capitalize()}>" for a, link in offered)
        attachment["text"] = f"{attachment.get('text', '')}\n{clicks}".strip()
        text = f"{text} ({clicks})"
    return {"text": text, "attachments": [attachment]}


def incident_site(data: Json) -> tuple[str, str] | None:
    """(Tocsin's base URL, the incident's id) from a v3 body's incident: its ``html_url`` is
    ``{base}/ui/incidents/{id}`` (``http.refs.reference``). None for the test message."""
    url, incident_id = str(data.get("html_url") or ""), str(data.get("id") or "")
    base, found, _ = url.rpartition("/ui/")
    return (base, incident_id) if found and incident_id else None


def chat_request(url: str, body: str, delivery_id: str,
                 links: Callable[[str, str], dict[str, str]] | None = None) -> OutboundRequest | str:
    """``links(base_url, incident_id)``: the acknowledge/resolve action links, if any."""
    site = incident_site(_event(body)[1]) if links is not None else None
    made = chat_body(body, links(*site) if links is not None and site is not None else None)
    if made is None:
        return "not an event a chat webhook sends"
    return OutboundRequest(url, (("Content-Type", CONTENT_TYPE), ("User-Agent", USER_AGENT),
                                 ("X-Webhook-Id", delivery_id)), orjson.dumps(made))
