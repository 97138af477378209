"""API objects (PagerDuty's REST API v2 shapes, as Tocsin and PagerDuty answer them) -> document
entries. Pure: the reader fetches, this converts.

References become names (a user's email, a schedule's name ...); ids are kept in ``_id`` fields
for the applier. What the document cannot hold is left out and said in a ``Note`` (a push
contact method, an integration type Tocsin lacks, a service's alert grouping ...), so an import
can report it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tocsin.config_as_code.document import (
    CONTACT_TYPES,
    Document,
    Entry,
    normalise,
    utc_text,
)

INTEGRATION_TYPES = ("events_api_v2_inbound_integration", "generic_events_api_inbound_integration",
                     "generic_email_inbound_integration")
URGENCY_RULE_FIELDS = ("type", "urgency", "during_support_hours", "outside_support_hours")
SUPPORT_HOURS_FIELDS = ("type", "time_zone", "days_of_week", "start_time", "end_time")


@dataclass(frozen=True)
class Note:
    """Something of the source that was not carried over, and why."""

    kind: str  # "user", "service", "integration" ...
    name: str
    reason: str

    def json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "reason": self.reason}


@dataclass
class Source:
    """An account's configuration as the API answered it."""

    users: list[dict[str, Any]] = field(default_factory=list)  # contact methods and rules included
    teams: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # team id -> members
    schedules: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)  # integrations included, with keys
    webhooks: list[dict[str, Any]] | None = None  # None: the server has no webhook subscriptions API
    windows: list[dict[str, Any]] = field(default_factory=list)  # open ones (ongoing or to come)


@dataclass
class Names:
    """id -> the name documents use, per kind, and the first object seen with each name."""

    users: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)


def _ref_id(ref: Any) -> str | None:
    return str(ref["id"]) if isinstance(ref, Mapping) and ref.get("id") else None


def _unique(kind: str, objects: Sequence[Mapping[str, Any]], name_of: Any, notes: list[Note]) -> dict[str, str]:
    """id -> name, the first object of each name winning (names are the keys of a document)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for obj in objects:
        name = name_of(obj)
        if not name:
            notes.append(Note(kind, str(obj.get("id")), "it has no name to be known by"))
            continue
        if name.casefold() in seen:
            notes.append(Note(kind, name, f"another {kind} has the same name; only the first ({kind} ids "
                                          f"{next(i for i, n in out.items() if n.casefold() == name.casefold())}) "
                                          f"is carried, {obj.get('id')} is not"))
            continue
        seen.add(name.casefold())
        out[str(obj["id"])] = name
    return out


def names_of(source: Source, notes: list[Note]) -> Names:
    return Names(
        users=_unique("user", source.users, lambda u: str(u.get("email") or "").strip().lower(), notes),
        teams=_unique("team", source.teams, lambda t: str(t.get("name") or ""), notes),
        schedules=_unique("schedule", source.schedules, lambda s: str(s.get("name") or ""), notes),
        policies=_unique("escalation policy", source.policies, lambda p: str(p.get("name") or ""), notes),
        services=_unique("service", source.services, lambda s: str(s.get("name") or ""), notes),
    )


def document(source: Source) -> tuple[Document, list[Note]]:
    """The document of ``source`` (canonical form, ids in ``_id``) and what could not be carried."""
    notes: list[Note] = []
    names = names_of(source, notes)
    raw: dict[str, Any] = {
        "users": [user_entry(u, notes) for u in source.users if str(u.get("id")) in names.users],
        "teams": [team_entry(t, source.members.get(str(t["id"]), []), names, notes)
                  for t in source.teams if str(t.get("id")) in names.teams],
        "schedules": [e for s in source.schedules if str(s.get("id")) in names.schedules
                      if (e := schedule_entry(s, names, notes)) is not None],
        "escalation_policies": [e for p in source.policies if str(p.get("id")) in names.policies
                                if (e := policy_entry(p, names, notes)) is not None],
        "services": [e for s in source.services if str(s.get("id")) in names.services
                     if (e := service_entry(s, names, notes)) is not None],
        "maintenance_windows": [e for w in source.windows if (e := window_entry(w, names, notes)) is not None],
    }
    if source.webhooks is not None:
        raw["webhook_subscriptions"] = [e for w in source.webhooks if (e := webhook_entry(w, names, notes)) is not None]
    return normalise(raw, from_file=False), notes


# --- users ------------------------------------------------------------------------------------

def user_entry(user: Mapping[str, Any], notes: list[Note]) -> Entry:
    email = str(user.get("email") or "").strip().lower()
    rules: dict[str, list[Entry]] = defaultdict(list)
    for rule in user.get("notification_rules") or []:
        if not isinstance(rule, Mapping) or "urgency" not in rule:
            continue  # a bare reference: the reader asks for the rules themselves
        method_id = _ref_id(rule.get("contact_method"))
        if method_id:
            rules[method_id].append({"urgency": rule.get("urgency"),
                                     "start_delay_in_minutes": rule.get("start_delay_in_minutes"),
                                     "_id": rule.get("id")})
    methods: list[Entry] = []
    for method in user.get("contact_methods") or []:
        if not isinstance(method, Mapping) or "address" not in method:
            continue
        kind = str(method.get("type") or "").removesuffix("_reference").removesuffix("_contact_method")
        label = str(method.get("label") or kind)
        if kind == "push_notification":
            notes.append(Note("contact method", f"{email}: {label}",
                              "push notification methods belong to a phone's app; sign in to it again"))
            continue
        if kind not in CONTACT_TYPES:
            notes.append(Note("contact method", f"{email}: {label}", f"type {method.get('type')} is unknown"))
            continue
        item: Entry = {"type": kind, "address": method.get("address"), "label": label}
        if kind in ("phone", "sms"):
            item["country_code"] = method.get("country_code")
        if kind == "email":
            item["send_short_email"] = bool(method.get("send_short_email"))
        item["notification_rules"] = rules.get(str(method.get("id")), [])
        item["_id"] = method.get("id")
        methods.append(item)
    return {
        "email": email, "name": user.get("name"), "role": user.get("role"), "time_zone": user.get("time_zone"),
        "color": user.get("color"), "job_title": user.get("job_title") or "",
        "description": user.get("description") or "", "contact_methods": methods, "_id": user.get("id"),
    }


# --- teams --------------------------------------------------------------------------------------

def team_entry(team: Mapping[str, Any], members: Sequence[Mapping[str, Any]], names: Names,
               notes: list[Note]) -> Entry:
    parent_id = _ref_id(team.get("parent"))
    parent = names.teams.get(parent_id) if parent_id else None
    if parent_id and parent is None:
        notes.append(Note("team", str(team.get("name")), f"its parent team {parent_id} is not carried"))
    listed: list[Entry] = []
    for member in members:
        user_id = _ref_id(member.get("user"))
        email = names.users.get(user_id or "")
        if email is None:
            notes.append(Note("team member", f"{team.get('name')}: {user_id}", "the user is not carried"))
            continue
        listed.append({"user": email, "role": member.get("role") or "manager"})
    return {"name": team.get("name"), "description": team.get("description") or "",
            "default_role": team.get("default_role") or "manager", "parent": parent, "members": listed,
            "_id": team.get("id")}


# --- schedules ----------------------------------------------------------------------------------

def _team_names(refs: Any, names: Names, kind: str, owner: str, notes: list[Note]) -> list[str]:
    found = []
    for ref in refs or []:
        team_id = _ref_id(ref)
        if team_id in names.teams:
            found.append(names.teams[team_id])
        else:
            notes.append(Note(kind, owner, f"its team {team_id} is not carried"))
    return found


def schedule_entry(schedule: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    name = str(schedule.get("name"))
    layers = []
    for layer in schedule.get("schedule_layers") or []:
        users = []
        for slot in layer.get("users") or []:
            user_id = _ref_id(slot.get("user") if isinstance(slot, Mapping) else None)
            if user_id in names.users:
                users.append(names.users[user_id])
            else:
                notes.append(Note("schedule", name, f"layer {layer.get('name')!r}: user {user_id} is not carried "
                                                    "(left out of the rotation)"))
        if not users:
            notes.append(Note("schedule", name, f"layer {layer.get('name')!r} has no user left: not carried"))
            continue
        restrictions = []
        for r in layer.get("restrictions") or []:
            restriction = {"type": r.get("type"), "start_time_of_day": r.get("start_time_of_day"),
                           "duration_seconds": r.get("duration_seconds")}
            if r.get("start_day_of_week") is not None:
                restriction["start_day_of_week"] = r.get("start_day_of_week")
            restrictions.append(restriction)
        layers.append({
            "name": layer.get("name"), "start": utc_text(layer["start"]),
            "end": utc_text(layer["end"]) if layer.get("end") else None,
            "rotation_virtual_start": utc_text(layer.get("rotation_virtual_start") or layer["start"]),
            "rotation_turn_length_seconds": layer.get("rotation_turn_length_seconds"), "users": users,
            "restrictions": restrictions, "_id": layer.get("id"),
        })
    if not layers:
        notes.append(Note("schedule", name, "no layer could be carried"))
        return None
    return {"name": name, "time_zone": schedule.get("time_zone"), "description": schedule.get("description") or "",
            "teams": _team_names(schedule.get("teams"), names, "schedule", name, notes), "layers": layers,
            "_id": schedule.get("id")}


# --- escalation policies ------------------------------------------------------------------------

def _strategy(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("type")
    return str(value or "assign_to_everyone")


def policy_entry(policy: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    name = str(policy.get("name"))
    rules = []
    for index, rule in enumerate(policy.get("escalation_rules") or []):
        targets = []
        for target in rule.get("targets") or []:
            kind = str(target.get("type") or "").removesuffix("_reference")
            target_id = str(target.get("id"))
            if kind == "user" and target_id in names.users:
                targets.append({"user": names.users[target_id]})
            elif kind == "schedule" and target_id in names.schedules:
                targets.append({"schedule": names.schedules[target_id]})
            else:
                notes.append(Note("escalation policy", name, f"level {index + 1}: target {kind} {target_id} is not "
                                                             "carried (left out of the level)"))
        if not targets:
            notes.append(Note("escalation policy", name, f"level {index + 1} has no target left: not carried"))
            continue
        rules.append({"escalation_delay_in_minutes": rule.get("escalation_delay_in_minutes"),
                      "assignment_strategy": _strategy(rule.get("escalation_rule_assignment_strategy")),
                      "targets": targets, "_id": rule.get("id")})
    if not rules:
        notes.append(Note("escalation policy", name, "no level could be carried"))
        return None
    return {"name": name, "description": policy.get("description") or "", "num_loops": policy.get("num_loops") or 0,
            "on_call_handoff_notifications": policy.get("on_call_handoff_notifications") or "if_has_services",
            "teams": _team_names(policy.get("teams"), names, "escalation policy", name, notes), "rules": rules,
            "_id": policy.get("id")}


# --- services -----------------------------------------------------------------------------------

def _only(value: Any, fields: Sequence[str]) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {k: (_only(v, ("type", "urgency")) if isinstance(v, Mapping) else v)
            for k, v in value.items() if k in fields and v is not None}


def _service_extras(service: Mapping[str, Any], name: str, notes: list[Note]) -> None:
    """PagerDuty features Tocsin does not have: said, not silently dropped."""
    grouping = service.get("alert_grouping_parameters") or {}
    if isinstance(grouping, Mapping) and grouping.get("type"):
        notes.append(Note("service", name, f"alert grouping ({grouping.get('type')}) is not carried: Tocsin "
                                           "groups alerts by dedup key only"))
    pause = service.get("auto_pause_notifications_parameters") or {}
    if isinstance(pause, Mapping) and pause.get("enabled"):
        notes.append(Note("service", name, "auto-pause of transient alerts is not carried: Tocsin has none"))
    if service.get("response_play"):
        notes.append(Note("service", name, "its response play is not carried: Tocsin has none"))
    if service.get("addons"):
        notes.append(Note("service", name, "its add-ons are not carried"))


def service_entry(service: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    name = str(service.get("name"))
    policy_id = _ref_id(service.get("escalation_policy"))
    policy = names.policies.get(policy_id or "")
    if policy is None:
        notes.append(Note("service", name, f"its escalation policy {policy_id} is not carried"))
        return None
    _service_extras(service, name, notes)
    integrations: list[Entry] = []
    for integration in service.get("integrations") or []:
        kind = str(integration.get("type") or "").removesuffix("_reference")
        label = str(integration.get("name") or integration.get("summary") or kind)
        if kind not in INTEGRATION_TYPES:
            notes.append(Note("integration", f"{name}: {label}", f"type {kind} is not one Tocsin has (it takes "
                                                                 "Events API v2 and v1, and email)"))
            continue
        item: Entry = {"name": label, "type": kind, "_id": integration.get("id")}
        if integration.get("integration_key"):
            item["integration_key"] = integration["integration_key"]
        elif kind == "generic_email_inbound_integration":
            notes.append(Note("integration", f"{name}: {label}", "an email integration gets a new address"))
        else:
            notes.append(Note("integration", f"{name}: {label}", "the API showed no integration key: a new one "
                                                                 "is made"))
        integrations.append(item)
    status = "disabled" if service.get("status") == "disabled" else "active"
    return {
        "name": name, "description": service.get("description") or "", "status": status,
        "escalation_policy": policy, "auto_resolve_timeout": service.get("auto_resolve_timeout"),
        "acknowledgement_timeout": service.get("acknowledgement_timeout"),
        "incident_urgency_rule": _only(service.get("incident_urgency_rule"), URGENCY_RULE_FIELDS),
        "support_hours": _only(service.get("support_hours"), SUPPORT_HOURS_FIELDS) or None,
        "scheduled_actions": [dict(a) for a in service.get("scheduled_actions") or []],
        "integrations": integrations, "_id": service.get("id"),
    }


# --- webhooks and maintenance windows -----------------------------------------------------------

def webhook_entry(webhook: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    delivery = webhook.get("delivery_method") or {}
    url = str(delivery.get("url") or "")
    raw_filter = webhook.get("filter") or {}
    kind = str(raw_filter.get("type") or "account_reference").removesuffix("_reference")
    target: Any = "account"
    if kind in ("service", "team"):
        known = names.services if kind == "service" else names.teams
        target_id = str(raw_filter.get("id"))
        if target_id not in known:
            notes.append(Note("webhook subscription", url, f"its filter's {kind} {target_id} is not carried"))
            return None
        target = {kind: known[target_id]}
    if delivery.get("custom_headers"):
        notes.append(Note("webhook subscription", url, "custom header values are hidden by the API: set them "
                                                       "again on the new subscription"))
    return {"url": url, "filter": target, "events": list(webhook.get("events") or []),
            "description": webhook.get("description") or "", "active": bool(webhook.get("active", True)),
            "_id": webhook.get("id")}


def window_entry(window: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    description = str(window.get("description") or "")
    services = []
    for ref in window.get("services") or []:
        service_id = _ref_id(ref)
        if service_id in names.services:
            services.append(names.services[service_id])
        else:
            notes.append(Note("maintenance window", description, f"its service {service_id} is not carried"))
    if not services:
        notes.append(Note("maintenance window", description, "no service of it is carried"))
        return None
    return {"description": description, "start": window.get("start_time"), "end": window.get("end_time"),
            "services": services, "_id": window.get("id")}
