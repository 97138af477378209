"""One message for several incidents at once (pure): notification bundling, as PagerDuty does it.

When a person is assigned several incidents within moments of each other (an alert storm, an
escalation of many incidents at once), a message per incident per contact method would ring a
phone dozens of times and bury the mail that matters. PagerDuty rolls such pages into one
summary per contact method listing every triggered incident; Tocsin does the same: the notify
step bundles the sends of one person's contact method that fall due in the same run (a single
send stays an ordinary ``messages.incident_message``). Every incident still gets its own
notification row and ``notify_log_entry`` with the bundle's outcome.

Email lists each incident with its own acknowledge and resolve links, the first
``LISTED_INCIDENTS`` of them: in a storm of hundreds, a person reads the first screen and then
goes to the incidents list, which the mail links to with the count of those not listed (and a
mail of hundreds of entries, each with two signed links, costs the engine more than the page is
worth). Above the list, "Acknowledge all" and "Resolve all" links act on every open incident
of the bundle, listed or not, as an SMS reply or a key press does. SMS and phone name the
incidents and take one answer for all of them (4 acknowledges all, 6 resolves all: the inbound
handlers act on every incident of the bundle).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from tocsin.notifications.channel import Message
from tocsin.notifications.messages import (
    ACKNOWLEDGE,
    BRAND,
    PHONE,
    RESOLVE,
    SMS,
    SMS_LIMIT,
    SUBJECT_TITLE_LIMIT,
    IncidentFacts,
    action_lines,
    button,
    clip,
    incident_url,
    one_line,
    sms_septets,
)

SPOKEN_TITLES = 3  # a call reads this many titles, then counts the rest
LISTED_INCIDENTS = 20  # an email lists this many, then counts the rest and links to the list
LISTED_TITLE_LIMIT = 120
ALL_LABELS = {ACKNOWLEDGE: "Acknowledge all", RESOLVE: "Resolve all"}


def bundle_message(
    notification_id: str, channel: str, address: str, incidents: Sequence[IncidentFacts], *, base_url: str,
    links: Mapping[str, Mapping[str, str]], voice_callback_url: str | None = None,
    all_links: Mapping[str, str] | None = None,
) -> Message:
    """A summary page for ``incidents`` (two or more, in the order listed); ``links`` maps an
    incident id to its action URLs ("acknowledge"/"resolve"; only the listed ones need any:
    ``listed``); ``all_links`` (email): the action URLs for all of them at once;
    ``voice_callback_url`` is where a call's key press goes (phone only), acting on all of them."""
    if len(incidents) < 2:
        raise ValueError("a bundle lists at least two incidents")
    count = len(incidents)
    subject = clip(f"{BRAND} You have {count} triggered incidents: {_title(incidents[0])} and more",
                   SUBJECT_TITLE_LIMIT + 40)
    if channel == SMS:
        return Message(notification_id, channel, address, subject, text=bundle_sms(incidents))
    if channel == PHONE:
        return Message(notification_id, channel, address, subject,
                       text=_voice(incidents, voice_callback_url is not None), voice_callback_url=voice_callback_url)
    every = {k: v for k, v in (all_links or {}).items() if k in (ACKNOWLEDGE, RESOLVE)}
    return Message(notification_id, channel, address, subject, text=_text(incidents, base_url, links, every),
                   html=_html(incidents, base_url, links, every))


def bundle_sms(incidents: Sequence[IncidentFacts]) -> str:
    """``[Tocsin] 3 incidents: #12, #13, #14 on <service> - Reply 4 ack all, 6 resolve all``, as many
    numbers as one segment holds (then ``+N more``); our own text is GSM-7 only."""
    tail = " - Reply 4 ack all, 6 resolve all"
    services = {one_line(i.service_name) for i in incidents}
    where = f" on {clip(services.pop(), 40)}" if len(services) == 1 else ""
    head = f"{BRAND} {len(incidents)} incidents: "
    if sms_septets(where) is None:  # a service name outside GSM-7 would make the text UCS-2
        where = ""
    numbers: list[str] = []
    for n, incident in enumerate(incidents):
        more = len(incidents) - n - 1
        candidate = ", ".join([*numbers, f"#{incident.number}"]) + (f" +{more} more" if more else "")
        if _septets(head + candidate + where + tail) > SMS_LIMIT:
            break
        numbers.append(f"#{incident.number}")
    left = len(incidents) - len(numbers)
    listed = ", ".join(numbers) + (f" +{left} more" if left else "")
    return f"{head}{listed}{where}{tail}"


def _septets(text: str) -> int:
    return sms_septets(text) or len(text)


def _title(incident: IncidentFacts) -> str:
    return clip(one_line(incident.title) or "(untitled)", LISTED_TITLE_LIMIT)


def _voice(incidents: Sequence[IncidentFacts], can_press: bool) -> str:
    said = [f"This is Tocsin. You have {len(incidents)} triggered incidents."]
    for incident in incidents[:SPOKEN_TITLES]:
        said.append(f"Number {incident.number}, {incident.urgency} urgency, on service "
                    f"{clip(one_line(incident.service_name), 100)}: {_title(incident)}.")
    if len(incidents) > SPOKEN_TITLES:
        said.append(f"And {len(incidents) - SPOKEN_TITLES} more.")
    if can_press:
        said.append("Press 4 to acknowledge all of them, 6 to resolve all of them.")
    return " ".join(said)


def listed(incidents: Sequence[IncidentFacts]) -> Sequence[IncidentFacts]:
    """The incidents an email lists one by one (with their links)."""
    return incidents[:LISTED_INCIDENTS]


def triggered_list_url(base_url: str) -> str:
    """The web UI's list (its home page) of the person's own triggered incidents."""
    return f"{base_url.rstrip('/')}/?mine=1&status=triggered"


def _unlisted(incidents: Sequence[IncidentFacts]) -> int:
    return len(incidents) - len(listed(incidents))


def _text(incidents: Sequence[IncidentFacts], base_url: str, links: Mapping[str, Mapping[str, str]],
          every: Mapping[str, str]) -> str:
    lines = [f"You have {len(incidents)} triggered incidents assigned to you in Tocsin:", ""]
    if every:
        lines += [f"{ALL_LABELS[k]} {len(incidents)}: {url}" for k, url in every.items()] + [""]
    for n, incident in enumerate(listed(incidents), start=1):
        lines += [(f"{n}) Incident #{incident.number} on {one_line(incident.service_name)} "
                   f"({incident.urgency} urgency)"), f"   {_title(incident)}"]
        lines += [f"   {line}" for line in action_lines(_actions(links, incident))]
        lines += [f"   View: {incident_url(base_url, incident.id)}", ""]
    if _unlisted(incidents):
        lines += [f"And {_unlisted(incidents)} more. All your triggered incidents: {triggered_list_url(base_url)}", ""]
    lines.append("You get this because these incidents are assigned to you in Tocsin.")
    return "\n".join(lines) + "\n"


def _html(incidents: Sequence[IncidentFacts], base_url: str, links: Mapping[str, Mapping[str, str]],
          every: Mapping[str, str]) -> str:
    def e(text: str) -> str:
        return html.escape(text, quote=True)

    items = []
    for incident in listed(incidents):
        actions = _actions(links, incident)
        buttons = "".join(button(actions[k], label) for k, label in
                          ((ACKNOWLEDGE, "Acknowledge"), (RESOLVE, "Resolve")) if k in actions)
        items.append(
            f"<li><p><strong>#{incident.number}</strong> on <strong>{e(one_line(incident.service_name))}</strong> "
            f"({e(incident.urgency)} urgency): {e(_title(incident))}</p>"
            f"<p>{buttons}<a href=\"{e(incident_url(base_url, incident.id))}\">View</a></p></li>")
    return "".join([
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">",
        f"<p>You have <strong>{len(incidents)}</strong> triggered incidents assigned to you:</p>",
        f"<p>{''.join(button(url, f'{ALL_LABELS[k]} {len(incidents)}') for k, url in every.items())}</p>"
        if every else "",
        f"<ol>{''.join(items)}</ol>",
        (f"<p>And {_unlisted(incidents)} more: <a href=\"{e(triggered_list_url(base_url))}\">all your triggered "
         "incidents</a>.</p>") if _unlisted(incidents) else "",
        "<p style=\"color:#666\">You get this because these incidents are assigned to you in Tocsin.</p>",
        "</body></html>",
    ])


def _actions(links: Mapping[str, Mapping[str, str]], incident: IncidentFacts) -> dict[str, str]:
    return {k: v for k, v in links.get(incident.id, {}).items() if k in (ACKNOWLEDGE, RESOLVE)}
