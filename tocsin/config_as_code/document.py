"""The configuration document: its sections, each object's key, and canonical values. Pure.

A document is a mapping of sections (``users``, ``teams``, ``schedules``, ``escalation_policies``,
``services``, ``webhook_subscriptions``, ``forwarders``, ``chat_webhooks``,
``maintenance_windows``) to lists of entries (plain mappings, as YAML gives them). Objects refer
to each other by their keys, never by ids:

    users: email          teams, schedules, escalation_policies, services: name
    webhook_subscriptions: url and filter     maintenance_windows: description and start
    forwarders, chat_webhooks: service and description

Secrets are never in a document: ``{env: NAME}`` names the environment variable holding one
(``env_refs``; a section's ``write_only`` fields).

A field left out of an entry is not managed by the document (applying leaves it alone); a section
left out is not managed at all (nothing in it is created, changed or deleted). Entries read from
a server carry their ids in fields starting with ``_`` (``_id``); those are never compared,
written out, or accepted from a file.

``canonical.normalise`` turns what a person wrote (or a server answered) into the canonical form that
``plan`` compares: times in UTC (``2030-01-01T09:00:00Z``), emails lower-case, unordered lists
sorted, entries sorted by key. It reports every problem it finds instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

VERSION = 1
Entry = dict[str, Any]
Document = dict[str, Any]  # {"version": 1, section: [Entry, ...], ...}

CONTACT_TYPES = ("email", "phone", "sms", "push_notification")
URGENCIES = ("high", "low")


class DocumentError(ValueError):
    """The document is not usable; ``problems`` names each place and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        self.problems = problems


@dataclass(frozen=True)
class Section:
    name: str  # the document's key
    title: str  # what one object is called in a plan
    fields: tuple[str, ...]  # in the order they are written; the first ones make the key
    key_fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()  # lists of names whose order means nothing (sorted)
    times: tuple[str, ...] = ()
    # sub-collections: list fields whose items are matched by a key of their own, so a plan can say
    # which item is added, changed or removed (and an import can add without removing)
    collections: Mapping[str, Collection] = field(default_factory=dict)
    # secrets, written as {env: NAME} (``env_refs``): sent when the object is created, never
    # compared (the API never shows them), so a plan never updates one
    write_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collection:
    fields: tuple[str, ...]
    key: Callable[[Entry], str]
    required: tuple[str, ...] = ()
    nested: Mapping[str, Collection] = field(default_factory=dict)
    # a second way to match an item whose key is incomplete (an integration written without its
    # key: ``key`` then gives the same text as ``fallback``)
    fallback: Callable[[Entry], str] | None = None


def _rule_key(item: Entry) -> str:
    return f"{item.get('urgency')} after {item.get('start_delay_in_minutes')} min"


def _method_key(item: Entry) -> str:
    return f"{item.get('type')} {item.get('address')}"


def integration_key_of(item: Entry) -> str:
    """An integration is known by its integration key; one written without a key by type and name."""
    key = item.get("integration_key")
    return str(key) if key else f"{item.get('type')} {item.get('name')}"


RULES = Collection(("urgency", "start_delay_in_minutes"), _rule_key, required=("urgency", "start_delay_in_minutes"))
CONTACT_METHODS = Collection(("type", "address", "label", "country_code", "send_short_email", "notification_rules"),
                             _method_key, required=("type", "address"), nested={"notification_rules": RULES})
MEMBERS = Collection(("user", "role"), lambda m: str(m.get("user")), required=("user",))
INTEGRATIONS = Collection(("name", "type", "integration_key"), integration_key_of, required=("type",),
                          fallback=lambda i: f"{i.get('type')} {i.get('name')}")

USERS = Section("users", "user", ("email", "name", "role", "time_zone", "color", "job_title", "description",
                                  "contact_methods"), ("email",), required=("email", "name"),
                collections={"contact_methods": CONTACT_METHODS})
TEAMS = Section("teams", "team", ("name", "description", "default_role", "parent", "members"), ("name",),
                required=("name",), collections={"members": MEMBERS})
SCHEDULES = Section("schedules", "schedule", ("name", "time_zone", "description", "teams", "layers"), ("name",),
                    required=("name", "layers"), unordered=("teams",))
POLICIES = Section("escalation_policies", "escalation policy",
                   ("name", "description", "num_loops", "on_call_handoff_notifications", "teams", "rules"), ("name",),
                   required=("name", "rules"), unordered=("teams",))
SERVICES = Section("services", "service",
                   ("name", "description", "status", "escalation_policy", "auto_resolve_timeout",
                    "acknowledgement_timeout", "incident_urgency_rule", "support_hours", "scheduled_actions",
                    "integrations"), ("name",), required=("name", "escalation_policy"),
                   collections={"integrations": INTEGRATIONS})
WEBHOOKS = Section("webhook_subscriptions", "webhook subscription",
                   ("url", "filter", "events", "description", "active", "custom_headers"), ("url", "filter"),
                   required=("url", "events"), unordered=("events",), write_only=("custom_headers",))
# A service's forwarders (to an upstream Events API v2) and chat webhooks, Tocsin extensions: known
# by their service and description (a chat webhook's URL is a secret, and one upstream URL often
# serves several forwarders).
FORWARDERS = Section("forwarders", "forwarder",
                     ("service", "description", "url", "integration_key", "events", "urgencies", "active"),
                     ("service", "description"), required=("service", "description", "integration_key"),
                     unordered=("events", "urgencies"), write_only=("integration_key",))
CHAT_WEBHOOKS = Section("chat_webhooks", "chat webhook",
                        ("service", "description", "url", "events", "urgencies", "acting_user", "active"),
                        ("service", "description"), required=("service", "description", "url"),
                        unordered=("events", "urgencies"), write_only=("url",))
WINDOWS = Section("maintenance_windows", "maintenance window", ("description", "start", "end", "services"),
                  ("description", "start"), required=("start", "end", "services"), unordered=("services",),
                  times=("start", "end"))

# In dependency order: an object refers only to objects of earlier sections (teams may refer to
# teams: parents are created first).
SECTIONS: tuple[Section, ...] = (USERS, TEAMS, SCHEDULES, POLICIES, SERVICES, WEBHOOKS, FORWARDERS, CHAT_WEBHOOKS,
                                 WINDOWS)
BY_NAME = {s.name: s for s in SECTIONS}

LAYER_FIELDS = ("name", "start", "end", "rotation_virtual_start", "rotation_turn_length_seconds", "users",
                "restrictions")
RESTRICTION_FIELDS = ("type", "start_time_of_day", "duration_seconds", "start_day_of_week")
RULE_FIELDS = ("escalation_delay_in_minutes", "assignment_strategy", "targets")


# --- keys ----------------------------------------------------------------------------------------

def filter_text(value: Any) -> str:
    """A webhook filter as words: ``account``, ``service checkout``, ``team Payments``."""
    if isinstance(value, Mapping) and len(value) == 1:
        [(kind, name)] = value.items()
        return f"{kind} {name}"
    return "account" if value in (None, "account") else str(value)


def key_of(section: Section, entry: Mapping[str, Any], now: datetime | None = None) -> str:
    """The object's stable name. A maintenance window that has begun is known by its description
    alone: creating it elsewhere starts it at that moment (PagerDuty moves a past start to now),
    so its start cannot identify it."""
    if section is WEBHOOKS:
        return f"{entry.get('url')} ({filter_text(entry.get('filter'))})"
    if section in (FORWARDERS, CHAT_WEBHOOKS):
        return f"{entry.get('service')}: {entry.get('description')}"
    if section is WINDOWS:
        start = str(entry.get("start") or "")
        begun = now is not None and start and parse_time(start) <= now
        return f"{entry.get('description') or ''} @ {'(begun)' if begun else start}"
    return " ".join(str(entry.get(k)) for k in section.key_fields)


# --- canonical values -----------------------------------------------------------------------------

def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def utc_text(value: Any) -> str:
    """An instant as ``YYYY-MM-DDTHH:MM:SSZ`` (whole seconds: what the APIs answer)."""
    return parse_time(value).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_text(value: Any) -> str:
    """``HH:MM:SS``. YAML 1.1 reads an unquoted ``10:00:00`` as the sexagesimal number 36000,
    which is that time in seconds: turned back here."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"
    return str(value)


def strip_private(value: Any) -> Any:
    """``value`` without the ``_id``-style fields a server read adds (for comparing and writing)."""
    if isinstance(value, Mapping):
        return {k: strip_private(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [strip_private(v) for v in value]
    return value
