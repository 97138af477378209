"""Document entries -> REST request bodies (PagerDuty's shapes). Pure.

Names become ids through ``Ids`` (what the target has, plus what this run made); a name that
resolves to nothing raises ``Unresolved``, which the applier reports against the object. Update
bodies carry only the fields asked for, so a field the document does not write is never sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tocsin.config_as_code import env_refs
from tocsin.config_as_code.document import Entry


class Unresolved(LookupError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name!r} does not exist on the target (and was not made by this run)")
        self.kind, self.name = kind, name


@dataclass
class Ids:
    """section name -> key (case-insensitive) -> id on the target."""

    by_section: dict[str, dict[str, str]] = field(default_factory=dict)

    def set(self, section: str, key: str, id_: str) -> None:
        self.by_section.setdefault(section, {})[key.casefold()] = id_

    def get(self, section: str, key: str) -> str | None:
        return self.by_section.get(section, {}).get(str(key).casefold())

    def need(self, section: str, key: str, kind: str) -> str:
        found = self.get(section, key)
        if found is None:
            raise Unresolved(kind, key)
        return found


def _pick(entry: Mapping[str, Any], names: Iterable[str], only: set[str] | None) -> dict[str, Any]:
    return {n: entry[n] for n in names if n in entry and (only is None or n in only)}


def _ref(kind: str, id_: str) -> dict[str, str]:
    return {"id": id_, "type": f"{kind}_reference"}


# --- users --------------------------------------------------------------------------------------

USER_FIELDS = ("name", "email", "role", "time_zone", "color", "job_title", "description")


def user_body(entry: Entry, only: set[str] | None = None) -> dict[str, Any]:
    return {"user": {"type": "user", **_pick(entry, USER_FIELDS, only)}}


def contact_method_body(item: Entry, only: set[str] | None = None) -> dict[str, Any]:
    body = {"type": f"{item['type']}_contact_method", **_pick(item, ("label", "address"), only)}
    if item["type"] in ("phone", "sms") and item.get("country_code") is not None:
        body.update(_pick(item, ("country_code",), only))
    if item["type"] == "email" and "send_short_email" in item:
        body.update(_pick(item, ("send_short_email",), only))
    if only is None:
        body.setdefault("label", item.get("label") or item["type"])
    return {"contact_method": body}


def notification_rule_body(rule: Entry, method_id: str, method_type: str) -> dict[str, Any]:
    return {"notification_rule": {
        "type": "assignment_notification_rule", "start_delay_in_minutes": rule["start_delay_in_minutes"],
        "urgency": rule["urgency"], "contact_method": _ref(f"{method_type}_contact_method", method_id)}}


# --- teams --------------------------------------------------------------------------------------

def team_body(entry: Entry, ids: Ids, only: set[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "team", **_pick(entry, ("name", "description", "default_role"), only)}
    if "parent" in entry and (only is None or "parent" in only):
        parent = entry["parent"]
        body["parent"] = _ref("team", ids.need("teams", parent, "team")) if parent else None
    return {"team": body}


# --- schedules ----------------------------------------------------------------------------------

def layer_body(layer: Entry, ids: Ids, layer_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": layer.get("name"), "start": layer["start"], "rotation_virtual_start": layer["rotation_virtual_start"],
        "rotation_turn_length_seconds": layer["rotation_turn_length_seconds"],
        "users": [{"user": _ref("user", ids.need("users", u, "user"))} for u in layer["users"]],
        "restrictions": [dict(r) for r in layer.get("restrictions") or []],
    }
    if layer.get("end"):
        body["end"] = layer["end"]
    if layer_id:
        body["id"] = layer_id
    return body


def schedule_body(entry: Entry, ids: Ids, only: set[str] | None = None,
                  layer_ids: list[str] | None = None) -> dict[str, Any]:
    """``layer_ids``: the target's current layers, by position, so an unchanged layer is kept (its
    history too) and a changed one is versioned from now rather than replaced."""
    body: dict[str, Any] = {"type": "schedule", **_pick(entry, ("name", "time_zone", "description"), only)}
    if "teams" in entry and (only is None or "teams" in only):
        body["teams"] = [_ref("team", ids.need("teams", t, "team")) for t in entry["teams"]]
    if "layers" in entry and (only is None or "layers" in only):
        known = layer_ids or []
        body["schedule_layers"] = [layer_body(layer, ids, known[i] if i < len(known) else None)
                                   for i, layer in enumerate(entry["layers"])]
    return {"schedule": body}


def override_body(start: str, end: str, user_id: str) -> dict[str, Any]:
    return {"start": start, "end": end, "user": _ref("user", user_id)}


# --- escalation policies ------------------------------------------------------------------------

def _target(target: Mapping[str, str], ids: Ids) -> dict[str, str]:
    [(kind, name)] = target.items()
    section = "users" if kind == "user" else "schedules"
    return _ref(kind, ids.need(section, name, kind))


def policy_body(entry: Entry, ids: Ids, only: set[str] | None = None, rule_ids: list[str] | None = None
                ) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "escalation_policy",
                            **_pick(entry, ("name", "description", "num_loops", "on_call_handoff_notifications"),
                                    only)}
    if "teams" in entry and (only is None or "teams" in only):
        body["teams"] = [_ref("team", ids.need("teams", t, "team")) for t in entry["teams"]]
    if "rules" in entry and (only is None or "rules" in only):
        known = rule_ids or []
        rules = []
        for index, rule in enumerate(entry["rules"]):
            item: dict[str, Any] = {
                "escalation_delay_in_minutes": rule["escalation_delay_in_minutes"],
                "escalation_rule_assignment_strategy": rule.get("assignment_strategy") or "assign_to_everyone",
                "targets": [_target(t, ids) for t in rule["targets"]],
            }
            if index < len(known):
                item["id"] = known[index]
            rules.append(item)
        body["escalation_rules"] = rules
    return {"escalation_policy": body}


# --- services -----------------------------------------------------------------------------------

SERVICE_FIELDS = ("name", "description", "status", "auto_resolve_timeout", "acknowledgement_timeout",
                  "incident_urgency_rule", "support_hours", "scheduled_actions")


def service_body(entry: Entry, ids: Ids, only: set[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "service", **_pick(entry, SERVICE_FIELDS, only)}
    if "escalation_policy" in entry and (only is None or "escalation_policy" in only):
        policy_id = ids.need("escalation_policies", entry["escalation_policy"], "escalation policy")
        body["escalation_policy"] = _ref("escalation_policy", policy_id)
    return {"service": body}


def integration_body(item: Entry) -> dict[str, Any]:
    body = {"type": item["type"], **_pick(item, ("name",), None)}
    if item.get("integration_key"):
        body["integration_key"] = item["integration_key"]
    return {"integration": body}


# --- webhooks, forwarders, chat webhooks and maintenance windows ---------------------------------

def _filter(value: Any, ids: Ids) -> dict[str, str]:
    if isinstance(value, Mapping):
        [(kind, name)] = value.items()
        return _ref(kind, ids.need(f"{kind}s", name, kind))
    return {"type": "account_reference"}


def webhook_body(entry: Entry, ids: Ids, only: set[str] | None = None,
                 env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Custom header values are secrets: taken from ``env`` when the subscription is created (a
    PUT never changes its delivery method, as at PagerDuty)."""
    body: dict[str, Any] = {"type": "webhook_subscription",
                            **_pick(entry, ("events", "description", "active"), only)}
    if only is None or "url" in only:
        body["delivery_method"] = {"type": "http_delivery_method", "url": entry["url"]}
        if only is None and entry.get("custom_headers"):
            body["delivery_method"]["custom_headers"] = [
                {"name": h["name"], "value": env_refs.resolve(h["value"], env or {})} for h in entry["custom_headers"]]
    if "filter" in entry and (only is None or "filter" in only):
        body["filter"] = _filter(entry["filter"], ids)
    return {"webhook_subscription": body}


def relay_body(section: str, entry: Entry, ids: Ids, only: set[str] | None = None,
               env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A forwarder (``section`` "forwarders") or chat webhook ("chat_webhooks"). Its secret (the
    integration key; the chat URL) is taken from ``env`` when it is created, and never sent again."""
    one = "forwarder" if section == "forwarders" else "chat_webhook"
    body: dict[str, Any] = {"type": one, **_pick(entry, ("description", "events", "active"), only)}
    if "urgencies" in entry and (only is None or "urgencies" in only):
        body["urgencies"] = list(entry["urgencies"] or []) or None  # none listed: every urgency
    if one == "forwarder":
        body.update(_pick(entry, ("url",), only))
        if only is None:
            body["integration_key"] = env_refs.resolve(entry["integration_key"], env or {})
    else:
        if only is None:
            body["url"] = env_refs.resolve(entry["url"], env or {})
        if "acting_user" in entry and (only is None or "acting_user" in only):
            user = entry["acting_user"]
            body["acting_user_id"] = ids.need("users", user, "user") if user else None
    return {one: body}


def window_body(entry: Entry, ids: Ids, only: set[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "maintenance_window", **_pick(entry, ("description",), only)}
    if "start" in entry and (only is None or "start" in only):
        body["start_time"] = entry["start"]
    if "end" in entry and (only is None or "end" in only):
        body["end_time"] = entry["end"]
    if "services" in entry and (only is None or "services" in only):
        body["services"] = [_ref("service", ids.need("services", s, "service")) for s in entry["services"]]
    return {"maintenance_window": body}
