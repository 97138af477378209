"""Who an event would page, worked out from what the REST API shows (pure).

``tocsin route test`` fetches the services with their integrations, the escalation policy,
``GET /oncalls`` over the time the policy could take, the on-call users (contact methods and
notification rules), maintenance windows and any open incident with the event's dedup key; this
module turns them into the route: the service the routing key belongs to, the urgency its rule
gives the event, and per level when it is reached, who is on call then (and through what) and
which contact methods their rules for that urgency use, minutes after the event.

Nothing here does I/O, so it is tested directly, and it reads only PagerDuty's public shapes, so
it answers for PagerDuty as well as for Tocsin. Its rules are the engine's: level 1 is paged at
once; a level escalates after its delay unless acknowledged, at once if nobody is on call there;
who is on call is read at the moment the level is reached; a disabled service, an open maintenance
window or an open alert with the same dedup key pages nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.services.urgency import urgency_for, within_support_hours

CHANNELS = {"email": "email", "sms": "sms", "phone": "phone", "push_notification": "push"}


@dataclass(frozen=True)
class Page:
    after_minutes: int  # after the event
    channel: str  # email, sms, phone, push
    address: str


@dataclass(frozen=True)
class Responder:
    user_id: str
    name: str
    via: str  # "directly" or the schedule's name
    pages: tuple[Page, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Level:
    number: int
    reached_after_minutes: int
    escalation_delay_in_minutes: int
    assignment: str  # assign_to_everyone | round_robin
    responders: tuple[Responder, ...] = ()


@dataclass(frozen=True)
class Route:
    at: datetime
    severity: str
    service: dict[str, Any]
    integration: dict[str, Any]
    urgency: str
    urgency_reason: str
    policy: dict[str, Any] | None
    num_loops: int = 0
    levels: tuple[Level, ...] = ()
    held: str | None = None  # why nobody would be paged, when nobody would
    notes: tuple[str, ...] = field(default=())

    def json(self) -> dict[str, Any]:
        body = asdict(self)
        body["at"] = self.at.isoformat()
        return body

    @property
    def users_paged(self) -> list[str]:
        return [r.user_id for level in self.levels for r in level.responders if r.pages]


def stamp(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def find_integration(services: Sequence[dict[str, Any]],
                     routing_key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The service and integration whose ``integration_key`` is the routing key."""
    for service in services:
        for integration in service.get("integrations") or []:
            if isinstance(integration, dict) and integration.get("integration_key") == routing_key:
                return service, integration
    return None


def urgency(service: dict[str, Any], severity: str, at: datetime) -> tuple[str, str]:
    """The event's urgency under the service's ``incident_urgency_rule``, and why."""
    rule = service.get("incident_urgency_rule") or {"type": "constant", "urgency": "high"}
    result = urgency_for(rule, severity, at, service.get("support_hours"))
    kind = rule.get("type", "constant")
    if kind == "use_support_hours":
        hours = service.get("support_hours")
        inside = hours is not None and within_support_hours(hours, at)
        branch = rule.get("during_support_hours" if inside else "outside_support_hours") or {}
        return result, f"{'inside' if inside else 'outside'} the service's support hours: {_describe(branch, severity)}"
    return result, f"the service's rule: {_describe(rule, severity)}"


def _describe(rule: dict[str, Any], severity: str) -> str:
    if rule.get("type") == "severity_based" or rule.get("urgency") == "severity_based":
        return f"by severity ({severity})"
    return f"always {rule.get('urgency', 'high')}"


def on_call_at(oncalls: Sequence[dict[str, Any]], level: int, at: datetime) -> list[dict[str, Any]]:
    """The level's on-calls under way at ``at``, each user once (a direct target before a schedule)."""
    found: dict[str, dict[str, Any]] = {}
    for oncall in sorted(oncalls, key=lambda o: o.get("schedule") is not None):
        if int(oncall.get("escalation_level") or 0) != level:
            continue
        start, end = stamp(oncall.get("start")), stamp(oncall.get("end"))
        if (start is None or start <= at) and (end is None or end > at):
            user_id = str((oncall.get("user") or {}).get("id"))
            found.setdefault(user_id, oncall)
    return list(found.values())


def pages(user: dict[str, Any], level_after: int, wanted_urgency: str) -> tuple[tuple[Page, ...], str | None]:
    """The sends a user's notification rules for this urgency make, minutes after the event."""
    methods = {str(m.get("id")): m for m in user.get("contact_methods") or [] if isinstance(m, dict)}
    rules = [r for r in user.get("notification_rules") or []
             if isinstance(r, dict) and r.get("urgency", "high") == wanted_urgency]
    if not rules:
        return (), f"has no notification rules for {wanted_urgency} urgency: assigned, not notified"
    found = []
    for rule in rules:
        ref = rule.get("contact_method") or {}
        method = {**ref, **methods.get(str(ref.get("id")), {})}
        kind = str(method.get("type", "")).removesuffix("_reference").removesuffix("_contact_method")
        address = str(method.get("address") or method.get("label") or method.get("summary") or "")
        if kind in ("sms", "phone") and method.get("country_code"):
            address = f"+{method['country_code']} {address}"
        found.append(Page(level_after + int(rule.get("start_delay_in_minutes") or 0), CHANNELS.get(kind, kind),
                          address))
    return tuple(sorted(found, key=lambda p: (p.after_minutes, p.channel, p.address))), None


def held_back(service: dict[str, Any], at: datetime, windows: Sequence[dict[str, Any]],
              open_incident: dict[str, Any] | None) -> str | None:
    if service.get("status") == "disabled":
        return "the service is disabled: the event is accepted and dropped"
    for window in windows:
        start, end = stamp(window.get("start_time")), stamp(window.get("end_time"))
        covers = start is not None and end is not None and start <= at < end
        if covers and any((s or {}).get("id") == service.get("id") for s in window.get("services") or []):
            return (f"the service is in maintenance until {window.get('end_time')} "
                    f"({window.get('description') or window.get('id')}): the trigger is held back")
    if open_incident is not None:
        return (f"incident #{open_incident.get('incident_number')} ({open_incident.get('id')}) is open with this "
                "dedup key: the event adds an alert to it and pages nobody new")
    return None


def plan(at: datetime, severity: str, service: dict[str, Any], integration: dict[str, Any],
         policy: dict[str, Any] | None, oncalls: Sequence[dict[str, Any]], users: dict[str, dict[str, Any]],
         windows: Sequence[dict[str, Any]] = (), open_incident: dict[str, Any] | None = None) -> Route:
    """The route of one trigger (see the module docstring)."""
    at = at.astimezone(UTC)  # minutes are added to it: real minutes, not a zone's wall clock
    wanted, why = urgency(service, severity, at)
    held = held_back(service, at, windows, open_incident)
    if policy is None:
        return Route(at, severity, _brief(service), _brief(integration), wanted, why, None,
                     held=held or "the service has no escalation policy")
    levels = []
    reached = 0
    for number, rule in enumerate(policy.get("escalation_rules") or [], start=1):
        delay = int(rule.get("escalation_delay_in_minutes") or 0)
        responders = []
        for oncall in on_call_at(oncalls, number, at + timedelta(minutes=reached)):
            ref = oncall.get("user") or {}
            user = users.get(str(ref.get("id")), ref)
            sent, note = pages(user, reached, wanted)
            schedule = oncall.get("schedule")
            via = str(schedule.get("summary") or schedule.get("id")) if schedule else "directly"
            responders.append(Responder(str(ref.get("id")), str(user.get("name") or ref.get("summary") or ""), via,
                                        sent, note))
        levels.append(Level(number, reached, delay, str(rule.get("escalation_rule_assignment_strategy")
                                                         or "assign_to_everyone"), tuple(responders)))
        reached += delay if responders else 0  # nobody on call: the level escalates at once
    notes = []
    if not any(level.responders for level in levels):
        notes.append("nobody is on call at any level: the incident would be assigned to no one")
    return Route(at, severity, _brief(service), _brief(integration), wanted, why, _brief(policy),
                 int(policy.get("num_loops") or 0), tuple(levels), held, tuple(notes))


def _brief(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in ("id", "name", "summary", "type", "status") if item.get(k) is not None}


def window_minutes(policy: dict[str, Any] | None) -> int:
    """How long the policy's first pass can take: the span ``GET /oncalls`` must cover."""
    if policy is None:
        return 0
    return sum(int(r.get("escalation_delay_in_minutes") or 0) for r in policy.get("escalation_rules") or [])


def describe(route: Route, local: Any) -> list[str]:
    """The route as lines of text; ``local(datetime) -> str`` shows a time in the reader's zone."""
    service, integration = route.service, route.integration
    lines = [
        f"Event:       severity {route.severity} at {local(route.at)}",
        (f"Service:     {service.get('name') or service.get('summary')} ({service.get('id')}), integration "
        f"{integration.get('name') or integration.get('summary')!r}"),
        f"Urgency:     {route.urgency} ({route.urgency_reason})",
    ]
    if route.policy is not None:
        loops = f", then the whole policy {route.num_loops} more time(s)" if route.num_loops else ""
        lines.append(f"Policy:      {route.policy.get('name') or route.policy.get('summary')} "
                     f"({route.policy.get('id')}){loops}")
    if route.held:
        lines += ["", f"Nobody would be paged: {route.held}.", "Otherwise:"]
    for level in route.levels:
        escalates = (f"escalates after {level.escalation_delay_in_minutes} min unless acknowledged"
                     if level.responders else "nobody on call: escalates at once")
        strategy = "; round robin: one of them, in turn" if level.assignment == "round_robin" else ""
        lines += ["", f"Level {level.number}, reached at +{level.reached_after_minutes} min ({escalates}{strategy})"]
        for responder in level.responders:
            through = "directly" if responder.via == "directly" else f"on call in {responder.via}"
            lines.append(f"  {responder.name} ({responder.user_id}), {through}")
            lines += [f"    +{page.after_minutes} min  {page.channel:<6} {page.address}" for page in responder.pages]
            if responder.note:
                lines.append(f"    {responder.note}")
    lines += ["", *route.notes] if route.notes else []
    lines += ["", "Nothing was sent."]
    return lines
