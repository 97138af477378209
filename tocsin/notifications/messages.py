"""What a notification says, per channel (pure: no I/O).

One function per kind of notification turns facts into a ``channel.Message``: email gets a
subject, a plain-text part and an HTML part (every value escaped); SMS one short line that fits
one 160-septet GSM-7 segment where the title allows (our own text uses GSM-7 only: ``-`` and
``...``, never a dash or an ellipsis character that would force UCS-2's 70-character segments;
``[`` and ``]`` count twice, as GSM-7 escapes them);
a phone call the text its voice reads. Links are made by the caller (signed action links,
``notifications.links``) and passed in, so rendering needs no secret.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.notifications.channel import Message

# Channel names, as notifications.models spells them (a pure module cannot import the ORM models;
# tests/notifications/test_messages.py checks they agree).
EMAIL, SMS, PHONE = "email", "sms", "phone"

SMS_LIMIT = 160  # one segment of GSM-7 text
TEST_PREFIX = "[Test message]"
BRAND = "[Tocsin]"
ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
SUBJECT_TITLE_LIMIT = 150
VOICE_TITLE_LIMIT = 200
DETAIL_LIMIT = 20  # custom detail fields shown
DETAIL_VALUE_LIMIT = 300
_ONE_LINE = re.compile(r"\s+")
# GSM 03.38: the default alphabet (one septet each) and its extension table (an escape and a septet).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    id: str
    number: int
    title: str
    urgency: str
    service_name: str
    # (name, value) lines: the first alert's source, severity and custom details, or the
    # details given when the incident was made through the API.
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HandoffFacts:
    starts: bool  # the shift starts (True) or ends (False)
    at: datetime
    policy_name: str
    schedule_name: str | None = None
    time_zone: str = "UTC"


# --- small text helpers ----------------------------------------------------------------------

def one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces; control characters dropped."""
    # Most titles are one printable line already (no control character, no whitespace but single
    # spaces): returned as they are, without the two regex passes (a bundle asks per incident).
    if text.isprintable() and "  " not in text and text == text.strip():
        return text
    return _ONE_LINE.sub(" ", _CONTROL.sub("", text)).strip()


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    if len(text) <= limit:
        return text
    if limit < 3:
        return text[:limit]
    return text[: limit - 3] + "..."


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _when(at: datetime, time_zone: str) -> str:
    try:
        zone: Any = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, time_zone = UTC, "UTC"
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({time_zone})"


def alert_details(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The lines worth reading of an Events API alert payload: source, severity, component,
    group, class, then up to ``DETAIL_LIMIT`` custom details (values as text, clipped)."""
    lines: list[tuple[str, str]] = []
    for key in ("source", "severity", "component", "group", "class"):
        value = payload.get(key)
        if value not in (None, ""):
            lines.append((key.capitalize(), clip(one_line(str(value)), DETAIL_VALUE_LIMIT)))
    custom = payload.get("custom_details")
    if isinstance(custom, Mapping):
        for name, value in list(custom.items())[:DETAIL_LIMIT]:
            text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
            lines.append((clip(one_line(str(name)), 80), clip(one_line(text), DETAIL_VALUE_LIMIT)))
    elif custom not in (None, "", {}):
        text = custom if isinstance(custom, str) else json.dumps(custom, default=str, ensure_ascii=False)
        lines.append(("Details", clip(one_line(text), DETAIL_VALUE_LIMIT)))
    return tuple(lines)


def _head(notification_id: str, channel: str, address: str, subject: str) -> dict[str, Any]:
    """The fields every ``Message`` starts with."""
    return {"notification_id": notification_id, "channel": channel, "address": address, "subject": subject}


def incident_url(base_url: str, incident_id: str) -> str:
    """The incident's page in the web UI (the REST API's ``html_url``; ``/incidents/{id}`` is the
    API's own answer, JSON behind a token, no use to a person following a link)."""
    return f"{base_url.rstrip('/')}/ui/incidents/{incident_id}"


# --- incidents -------------------------------------------------------------------------------

def incident_message(
    notification_id: str, channel: str, address: str, incident: IncidentFacts, *, base_url: str,
    links: Mapping[str, str], voice_callback_url: str | None = None,
) -> Message:
    """A page for ``incident``; ``links`` maps "acknowledge"/"resolve" to action URLs (either may be
    missing); ``voice_callback_url`` is where a call's key press goes (phone only)."""
    title = one_line(incident.title) or "(untitled)"
    service = one_line(incident.service_name)
    subject = clip(f"{BRAND} Incident #{incident.number} ({incident.urgency} urgency): {title}",
                   SUBJECT_TITLE_LIMIT + 40)
    actions = {k: v for k, v in links.items() if k in (ACKNOWLEDGE, RESOLVE)}
    base = {**_head(notification_id, channel, address, subject), "actions": actions}
    if channel == SMS:
        return Message(**base, text=incident_sms(incident.number, incident.urgency, title))
    if channel == PHONE:
        return Message(**base, text=_incident_voice(incident, title, service, voice_callback_url is not None),
                       voice_callback_url=voice_callback_url)
    url = incident_url(base_url, incident.id)
    return Message(**base, text=_incident_text(incident, title, service, url, actions),
                   html=_incident_html(incident, title, service, url, actions))


def sms_septets(text: str) -> int | None:
    """The GSM-7 length of ``text`` (extension characters count two); None when some character
    is not in GSM-7 (the message then goes as UCS-2)."""
    total = 0
    for char in text:
        if char in _GSM7_BASIC:
            total += 1
        elif char in _GSM7_EXTENDED:
            total += 2
        else:
            return None
    return total


def _sms_size(text: str, gsm: bool) -> int:
    return (sms_septets(text) or 0) if gsm else len(text)


def _sms_fit(text: str, room: int, gsm: bool) -> str:
    """``text`` clipped (ending in ``...``) to take at most ``room`` septets (``gsm``) or characters."""
    if _sms_size(text, gsm) <= room:
        return text
    budget, kept = room - 3, []
    for char in text:
        cost = 2 if gsm and char in _GSM7_EXTENDED else 1
        if cost > budget:
            break
        budget -= cost
        kept.append(char)
    return "".join(kept) + "..."


def sms_clip(text: str) -> str:
    """``text`` cut to one SMS: 160 septets of GSM-7, or 160 characters of anything else."""
    return _sms_fit(text, SMS_LIMIT, sms_septets(text) is not None)


def incident_sms(number: int, urgency: str, title: str) -> str:
    """``[Tocsin] #12 high: <title> - Reply 4 ack, 6 resolve``, the title clipped to fit one
    segment (a title outside GSM-7 makes the text UCS-2: then 160 characters, several segments)."""
    head, tail, title = f"{BRAND} #{number} {urgency}: ", " - Reply 4 ack, 6 resolve", one_line(title)
    gsm = sms_septets(title) is not None
    room = max(SMS_LIMIT - _sms_size(head, gsm) - _sms_size(tail, gsm), 12)  # a huge number leaves some title
    return f"{head}{_sms_fit(title, room, gsm)}{tail}"


def _incident_voice(incident: IncidentFacts, title: str, service: str, can_press: bool) -> str:
    said = (f"This is Tocsin with a {incident.urgency} urgency incident, number {incident.number}, "
            f"on service {clip(service, 100)}: {clip(title, VOICE_TITLE_LIMIT)}.")
    if can_press:
        said += " Press 4 to acknowledge, 6 to resolve."
    return said


def action_lines(actions: Mapping[str, str]) -> list[str]:
    labels = {ACKNOWLEDGE: "Acknowledge", RESOLVE: "Resolve"}
    return [f"{labels[k]}: {actions[k]}" for k in (ACKNOWLEDGE, RESOLVE) if k in actions]


def _incident_text(incident: IncidentFacts, title: str, service: str, url: str, actions: Mapping[str, str]) -> str:
    lines = [f"Incident #{incident.number} on {service} ({incident.urgency} urgency)", "", title, ""]
    if incident.details:
        lines += ["Details:", *(f"  {name}: {value}" for name, value in incident.details), ""]
    lines += action_lines(actions)
    lines += [f"View the incident: {url}", "",
              "You get this because the incident is assigned to you in Tocsin."]
    return "\n".join(lines) + "\n"


def button(url: str, label: str) -> str:
    return (f'<a href="{_e(url)}" style="display:inline-block;padding:8px 16px;margin-right:8px;'
            f'background:#1f6feb;color:#ffffff;text-decoration:none;border-radius:4px">{_e(label)}</a>')


def _incident_html(incident: IncidentFacts, title: str, service: str, url: str, actions: Mapping[str, str]) -> str:
    rows = "".join(f"<tr><th align=\"left\">{_e(name)}</th><td>{_e(value)}</td></tr>"
                   for name, value in incident.details)
    buttons = "".join(button(actions[k], label) for k, label in
                      ((ACKNOWLEDGE, "Acknowledge"), (RESOLVE, "Resolve")) if k in actions)
    return "".join([
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">",
        (f"<p>Incident <strong>#{incident.number}</strong> on <strong>{_e(service)}</strong> "
         f"({_e(incident.urgency)} urgency)</p>"),
        f"<h2>{_e(title)}</h2>",
        f"<table>{rows}</table>" if rows else "",
        f"<p>{buttons}</p>" if buttons else "",
        f"<p><a href=\"{_e(url)}\">View the incident</a></p>",
        "<p style=\"color:#666\">You get this because the incident is assigned to you in Tocsin.</p>",
        "</body></html>",
    ])


# --- on-call handoffs ------------------------------------------------------------------------

def handoff_facts(detail: Mapping[str, Any]) -> HandoffFacts:
    """A handoff notification's ``detail`` (written by the handoff step) as facts: ``event``
    "start" | "end", ``at`` ISO 8601, ``policy`` name, optional ``schedule`` name and ``time_zone``."""
    at = datetime.fromisoformat(str(detail["at"]))
    return HandoffFacts(
        starts=detail.get("event") != "end", at=at if at.tzinfo else at.replace(tzinfo=UTC),
        policy_name=str(detail.get("policy") or "an escalation policy"),
        schedule_name=str(detail["schedule"]) if detail.get("schedule") else None,
        time_zone=str(detail.get("time_zone") or "UTC"),
    )


def handoff_message(notification_id: str, channel: str, address: str, handoff: HandoffFacts, *,
                    base_url: str) -> Message:
    verb = "starts" if handoff.starts else "ends"
    policy = one_line(handoff.policy_name)
    where = f"{policy} (schedule {one_line(handoff.schedule_name)})" if handoff.schedule_name else policy
    when = _when(handoff.at, handoff.time_zone)
    sentence = f"Your on-call shift for {where} {verb} at {when}."
    subject = clip(f"{BRAND} Your on-call shift {verb}: {policy}", SUBJECT_TITLE_LIMIT + 40)
    base = _head(notification_id, channel, address, subject)
    if channel == SMS:
        return Message(**base, text=sms_clip(f"{BRAND} {sentence}"))
    if channel == PHONE:
        return Message(**base, text=f"This is Tocsin. {sentence}")
    home = base_url.rstrip("/")
    text = f"{sentence}\n\nTocsin: {home}\n"
    page = (f"<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><p>{_e(sentence)}</p>"
            f"<p><a href=\"{_e(home)}\">Tocsin</a></p></body></html>")
    return Message(**base, text=text, html=page if channel == EMAIL else None)


# --- notices to admins ----------------------------------------------------------------------

def notice_message(notification_id: str, channel: str, address: str, detail: Mapping[str, Any], *,
                   base_url: str) -> Message:
    """A notice to an admin (``detail``: ``subject`` and ``lines``, written by whoever raised it,
    e.g. a webhook subscription disabled for failing): the lines as paragraphs, every value escaped."""
    subject = clip(f"{BRAND} {one_line(str(detail.get('subject') or 'Notice'))}", SUBJECT_TITLE_LIMIT + 40)
    lines = [str(line) for line in detail.get("lines") or []]
    base = _head(notification_id, channel, address, subject)
    if channel == SMS:
        return Message(**base, text=sms_clip(subject))
    if channel == PHONE:
        return Message(**base, text=f"This is Tocsin. {subject.removeprefix(BRAND).strip()}")
    home = base_url.rstrip("/")
    text = "\n\n".join(lines) + f"\n\nTocsin: {home}\n"
    paragraphs = "".join(f"<p>{_e(line)}</p>" for line in lines)
    page = (f"<!DOCTYPE html><html><body style=\"font-family:sans-serif\">{paragraphs}"
            f"<p><a href=\"{_e(home)}\">Tocsin</a></p></body></html>")
    return Message(**base, text=text, html=page if channel == EMAIL else None)


# --- test messages ---------------------------------------------------------------------------

def contact_test_message(notification_id: str, channel: str, address: str, *, label: str | None = None) -> Message:
    """A contact method test: every text (and the email subject) starts with ``[Test message]``."""
    named = f" ({one_line(label)})" if label and one_line(label) else ""
    sentence = f"Tocsin can reach you at this contact method{named}. No action is needed."
    subject = clip(f"{TEST_PREFIX} Tocsin contact method test{named}", SUBJECT_TITLE_LIMIT + 40)
    base = _head(notification_id, channel, address, subject)
    if channel == SMS:
        return Message(**base, text=sms_clip(f"{TEST_PREFIX} {sentence}"))
    if channel == PHONE:
        return Message(**base, text=f"{TEST_PREFIX} This is Tocsin. {sentence}")
    return Message(**base, text=f"{TEST_PREFIX} {sentence}\n",
                   html=(f"<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><p>"
                         f"{_e(TEST_PREFIX)} {_e(sentence)}</p></body></html>"))
