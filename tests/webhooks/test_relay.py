"""The pure request building of forwarders and chat webhooks (``tocsin.webhooks.relay``)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tocsin.webhooks import relay


def body(event_type: str, **data: Any) -> str:
    return orjson.dumps({"event": {"event_type": event_type, "data": {
        "id": "PINC1", "incident_key": "disk/1", "title": "Disk full", "urgency": "high", "number": 7,
        "status": "triggered", "html_url": "https://tocsin.example/ui/incidents/PINC1",
        "service": {"id": "PSVC", "summary": "Web"}, **data}}}).decode()


def test_incident_changes_map_to_events_api_actions_with_the_incident_key() -> None:
    actions = {t: (relay.events_api_body(body(t), "KEY") or {}).get("event_action")
               for t in ("incident.triggered", "incident.reopened", "incident.acknowledged", "incident.resolved",
                         "incident.escalated", "incident.annotated")}
    assert actions == {"incident.triggered": "trigger", "incident.reopened": "trigger",
                       "incident.acknowledged": "acknowledge", "incident.resolved": "resolve",
                       "incident.escalated": None, "incident.annotated": None}
    sent = relay.events_api_body(body("incident.triggered", urgency="low"), "KEY")
    assert sent is not None and sent["routing_key"] == "KEY" and sent["dedup_key"] == "disk/1"
    assert sent["payload"]["severity"] == "warning" and sent["payload"]["source"] == "Tocsin service Web"
    assert sent["links"] == [{"href": "https://tocsin.example/ui/incidents/PINC1",
                              "text": "Incident in the sending Tocsin"}]
    no_key = relay.events_api_body(body("incident.resolved", incident_key=None), "KEY")
    assert no_key == {"routing_key": "KEY", "event_action": "resolve", "dedup_key": "PINC1"}


def test_actions_and_v3_types_round_trip() -> None:
    assert relay.v3_types(["resolve", "trigger"], relay.FORWARDED) == [
        "incident.triggered", "incident.reopened", "incident.resolved"]
    assert relay.actions_of(relay.v3_types(["escalate"], relay.CHATTED), relay.CHATTED) == ["escalate"]


def test_chat_links_are_offered_only_while_they_can_act() -> None:
    links = {"acknowledge": "https://t/a", "resolve": "https://t/r"}
    open_ = relay.chat_body(body("incident.triggered"), links)
    acked = relay.chat_body(body("incident.acknowledged", status="acknowledged"), links)
    done = relay.chat_body(body("incident.resolved", status="resolved"), links)
    assert open_ and "<https://t/a|Acknowledge> | <https://t/r|Resolve>" in open_["attachments"][0]["text"]
    assert acked and "Acknowledge>" not in acked["text"] and "<https://t/r|Resolve>" in acked["text"]
    assert done and "https://t/" not in orjson.dumps(done).decode()
    assert relay.incident_site(orjson.loads(body("x"))["event"]["data"]) == ("https://tocsin.example", "PINC1")


@given(st.text(max_size=3000))
def test_any_title_makes_a_bounded_summary_and_escaped_chat_text(title: str) -> None:
    sent = relay.events_api_body(body("incident.triggered", title=title), "K")
    assert sent is not None and len(sent["payload"]["summary"]) <= relay.SUMMARY_LIMIT
    message = relay.chat_body(body("incident.triggered", title=title))
    assert message is not None
    # The title is escaped, so the only Slack markup in the text is the link Tocsin made.
    escaped = (title or "Incident").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "<" not in escaped and ">" not in escaped
    assert message["text"] == f"Triggered: <https://tocsin.example/ui/incidents/PINC1|#7 {escaped}> on Web"
