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
from typing import Any
from urllib.parse import urlsplit

from tocsin.config_as_code import env_refs
from tocsin.config_as_code.canonical import normalise
from tocsin.config_as_code.document import (
    CONTACT_TYPES,
    Document,
    Entry,
    utc_text,
)
from tocsin.config_as_code.source import Names, Note, Source, names_of, ref_id

INTEGRATION_TYPES = ("events_api_v2_inbound_integration", "generic_events_api_inbound_integration",
                     "generic_email_inbound_integration")
URGENCY_RULE_FIELDS = ("type", "urgency", "during_support_hours", "outside_support_hours")
SUPPORT_HOURS_FIELDS = ("type", "time_zone", "days_of_week", "start_time", "end_time")


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
    if source.forwarders is not None:
        raw["forwarders"] = [e for f in source.forwarders if (e := relay_entry("forwarder", f, names, notes))]
    if source.chat_webhooks is not None:
        raw["chat_webhooks"] = [e for c in source.chat_webhooks if (e := relay_entry("chat webhook", c, names, notes))]
    return normalise(raw, from_file=False), notes


# --- users ------------------------------------------------------------------------------------

def user_entry(user: Mapping[str, Any], notes: list[Note]) -> Entry:
    email = str(user.get("email") or "").strip().lower()
    rules: dict[str, list[Entry]] = defaultdict(list)
    for rule in user.get("notification_rules") or []:
        if not isinstance(rule, Mapping) or "urgency" not in rule:
            continue  # a bare reference: the reader asks for the rules themselves
        method_id = ref_id(rule.get("contact_method"))
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
    parent_id = ref_id(team.get("parent"))
    parent = names.teams.get(parent_id) if parent_id else None
    if parent_id and parent is None:
        notes.append(Note("team", str(team.get("name")), f"its parent team {parent_id} is not carried"))
    listed: list[Entry] = []
    for member in members:
        user_id = ref_id(member.get("user"))
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
        team_id = ref_id(ref)
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
            user_id = ref_id(slot.get("user") if isinstance(slot, Mapping) else None)
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
    policy_id = ref_id(service.get("escalation_policy"))
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


# --- webhooks, forwarders, chat webhooks and maintenance windows ---------------------------------

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
    label = str(webhook.get("description") or urlsplit(url).hostname or url)
    header_names = [str(h["name"]) for h in delivery.get("custom_headers") or []
                    if isinstance(h, Mapping) and h.get("name")]
    refs = [env_refs.derived("webhook", label, name) for name in header_names]
    headers: list[Entry] = [{"name": name, "value": ref} for name, ref in zip(header_names, refs, strict=True)]
    if headers:
        variables = ", ".join(ref["env"] for ref in refs)
        notes.append(Note("webhook subscription", url, f"custom header values are hidden by the API: a new "
                                                       f"subscription takes them from {variables}"))
    return {"url": url, "filter": target, "events": list(webhook.get("events") or []),
            "description": webhook.get("description") or "", "active": bool(webhook.get("active", True)),
            "custom_headers": headers, "_id": webhook.get("id")}


def relay_entry(kind: str, relay: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    """A forwarder or chat webhook (Tocsin extensions). Its secret (a forwarder's integration key,
    a chat webhook's URL) is never shown: the entry names the variable a new one takes it from."""
    service_id = ref_id(relay.get("service")) or ""
    service = names.services.get(service_id)
    description = str(relay.get("description") or "")
    label = f"{service or service_id}: {description or relay.get('url')}"
    if service is None:
        notes.append(Note(kind, label, f"its service {service_id} is not carried"))
        return None
    if not description:
        notes.append(Note(kind, label, "it has no description, by which a document names it: give it one"))
        return None
    entry: Entry = {"service": service, "description": description, "events": list(relay.get("events") or []),
                    "urgencies": list(relay.get("urgencies") or []), "active": bool(relay.get("active", True)),
                    "_id": relay.get("id"), "_service_id": service_id}
    if kind == "forwarder":
        entry.update(url=relay.get("url"), integration_key=env_refs.derived(kind, service, description, "key"))
    else:
        entry["url"] = env_refs.derived(kind, service, description, "url")
        user_id = ref_id(relay.get("acting_user"))
        entry["acting_user"] = names.users.get(user_id) if user_id else None
        if user_id and entry["acting_user"] is None:
            notes.append(Note(kind, label, f"its acting user {user_id} is not carried (its messages get no "
                                           "acknowledge/resolve links)"))
    return entry


def window_entry(window: Mapping[str, Any], names: Names, notes: list[Note]) -> Entry | None:
    description = str(window.get("description") or "")
    services = []
    for ref in window.get("services") or []:
        service_id = ref_id(ref)
        if service_id in names.services:
            services.append(names.services[service_id])
        else:
            notes.append(Note("maintenance window", description, f"its service {service_id} is not carried"))
    if not services:
        notes.append(Note("maintenance window", description, "no service of it is carried"))
        return None
    return {"description": description, "start": window.get("start_time"), "end": window.get("end_time"),
            "services": services, "_id": window.get("id")}
