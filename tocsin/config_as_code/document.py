"""The configuration document: its sections, each object's key, and one canonical form. Pure.

A document is a mapping of sections (``users``, ``teams``, ``schedules``, ``escalation_policies``,
``services``, ``webhook_subscriptions``, ``maintenance_windows``) to lists of entries (plain
mappings, as YAML gives them). Objects refer to each other by their keys, never by ids:

    users: email          teams, schedules, escalation_policies, services: name
    webhook_subscriptions: url and filter     maintenance_windows: description and start

A field left out of an entry is not managed by the document (applying leaves it alone); a section
left out is not managed at all (nothing in it is created, changed or deleted). Entries read from
a server carry their ids in fields starting with ``_`` (``_id``); those are never compared,
written out, or accepted from a file.

``normalise`` turns what a person wrote (or a server answered) into the canonical form that
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
                   ("url", "filter", "events", "description", "active"), ("url", "filter"),
                   required=("url", "events"), unordered=("events",))
WINDOWS = Section("maintenance_windows", "maintenance window", ("description", "start", "end", "services"),
                  ("description", "start"), required=("start", "end", "services"), unordered=("services",),
                  times=("start", "end"))

# In dependency order: an object refers only to objects of earlier sections (teams may refer to
# teams: parents are created first).
SECTIONS: tuple[Section, ...] = (USERS, TEAMS, SCHEDULES, POLICIES, SERVICES, WEBHOOKS, WINDOWS)
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


# --- normalising ----------------------------------------------------------------------------------

def normalise(raw: Any, *, from_file: bool = True) -> Document:
    """The canonical document, or DocumentError listing every problem. ``from_file``: ids (``_``
    fields) are refused, as a file must name things, not point at one server's rows."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise DocumentError(["the document must be a mapping of sections (users:, services:, ...)"])
    version = raw.get("version", VERSION)
    if version != VERSION:
        problems.append(f"version: {version!r} is not supported (this tocsin reads version {VERSION})")
    unknown = sorted(str(k) for k in raw if k != "version" and k not in BY_NAME)
    if unknown:
        problems.append(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    doc: Document = {"version": VERSION}
    for section in SECTIONS:
        if section.name not in raw:
            continue
        items = raw[section.name]
        if items is None:
            items = []
        if not isinstance(items, list):
            problems.append(f"{section.name}: must be a list")
            continue
        entries = []
        for index, item in enumerate(items):
            where = f"{section.name}[{index}]"
            if not isinstance(item, Mapping):
                problems.append(f"{where}: must be a mapping")
                continue
            entries.append(_entry(section, dict(item), where, problems, from_file))
        doc[section.name] = entries
    _check_unique(doc, problems)
    if problems:
        raise DocumentError(problems)
    for section in SECTIONS:
        if section.name in doc:
            doc[section.name] = sorted(doc[section.name], key=_sort_key(section))
    return doc


def _sort_key(section: Section) -> Callable[[Entry], str]:
    return lambda entry: key_of(section, entry).casefold()


def _check_unique(doc: Document, problems: list[str]) -> None:
    for section in SECTIONS:
        seen: set[str] = set()
        for entry in doc.get(section.name, []):
            key = key_of(section, entry).casefold()
            if key in seen:
                problems.append(f"{section.name}: {key_of(section, entry)!r} is listed twice")
            seen.add(key)


def _unknown_fields(item: Mapping[str, Any], allowed: tuple[str, ...], where: str, problems: list[str],
                    from_file: bool) -> None:
    for name in item:
        text = str(name)
        if text.startswith("_"):
            if from_file:
                problems.append(f"{where}.{text}: ids are not written in a document (objects are named)")
            continue
        if text not in allowed:
            problems.append(f"{where}.{text}: unknown field; known: {', '.join(allowed)}")


def _entry(section: Section, item: Entry, where: str, problems: list[str], from_file: bool) -> Entry:
    _unknown_fields(item, section.fields, where, problems, from_file)
    for name in section.required:
        if item.get(name) in (None, "", []):
            problems.append(f"{where}.{name}: is required")
    out: Entry = {}
    for name in section.fields:
        if name not in item:
            continue
        value = item[name]
        try:
            out[name] = _field(section, name, value, f"{where}.{name}", problems, from_file)
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}.{name}: {exc}")
    for name, value in item.items():
        if str(name).startswith("_"):
            out[str(name)] = value
    return out


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError("must be a list of names")
    return [str(v) for v in value]


def _field(section: Section, name: str, value: Any, where: str, problems: list[str], from_file: bool) -> Any:
    if name in section.times:
        return utc_text(value) if value is not None else None
    if name in section.unordered:
        names = _names(value, where)
        return sorted(dict.fromkeys(n.lower() if _is_email(n) else n for n in names))
    if name in section.collections:
        return _collection(section.collections[name], value, where, problems, from_file)
    if section is USERS and name == "email":
        return str(value).strip().lower()
    if section is SCHEDULES and name == "layers":
        return _layers(value, where, problems, from_file)
    if section is POLICIES and name == "rules":
        return _rules(value, where, problems, from_file)
    if section is WEBHOOKS and name == "filter":
        return _filter(value)
    if name in ("description", "job_title") and value is None:
        return ""
    return value


def _is_email(text: str) -> bool:
    return "@" in text


def _collection(spec: Collection, value: Any, where: str, problems: list[str], from_file: bool) -> list[Entry]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("must be a list")
    out: list[Entry] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{at}: must be a mapping")
            continue
        _unknown_fields(item, spec.fields, at, problems, from_file)
        for name in spec.required:
            if item.get(name) in (None, ""):
                problems.append(f"{at}.{name}: is required")
        entry: Entry = {}
        for name, raw in item.items():
            text = str(name)
            if text in spec.nested:
                entry[text] = _collection(spec.nested[text], raw, f"{at}.{text}", problems, from_file)
            elif text == "type" and spec is CONTACT_METHODS:
                entry[text] = str(raw).removesuffix("_contact_method")
                if entry[text] not in CONTACT_TYPES:
                    problems.append(f"{at}.type: must be one of {', '.join(CONTACT_TYPES)}")
            elif text == "user" and spec is MEMBERS:
                entry[text] = str(raw).strip().lower()
            else:
                entry[text] = raw
        key = spec.key(entry)
        if key in seen:
            problems.append(f"{at}: {key!r} is listed twice")
        seen.add(key)
        out.append(entry)
    return sorted(out, key=lambda e: spec.key(e).casefold())


def _layers(value: Any, where: str, problems: list[str], from_file: bool) -> list[Entry]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of layers (later layers win over earlier ones)")
    layers: list[Entry] = []
    for index, raw in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{at}: must be a mapping")
            continue
        _unknown_fields(raw, LAYER_FIELDS, at, problems, from_file)
        for name in ("start", "rotation_turn_length_seconds", "users"):
            if raw.get(name) in (None, "", []):
                problems.append(f"{at}.{name}: is required")
        layer: Entry = {k: v for k, v in raw.items() if str(k).startswith("_")}
        try:
            layer["name"] = raw.get("name") or f"Layer {index + 1}"
            layer["start"] = utc_text(raw["start"]) if raw.get("start") else None
            layer["end"] = utc_text(raw["end"]) if raw.get("end") else None
            virtual = raw.get("rotation_virtual_start") or raw.get("start")
            layer["rotation_virtual_start"] = utc_text(virtual) if virtual else None
        except (TypeError, ValueError) as exc:
            problems.append(f"{at}: {exc}")
        layer["rotation_turn_length_seconds"] = raw.get("rotation_turn_length_seconds")
        layer["users"] = [u.lower() for u in _names(raw.get("users"), at)]
        restrictions = []
        for r_index, r in enumerate(raw.get("restrictions") or []):
            r_at = f"{at}.restrictions[{r_index}]"
            if not isinstance(r, Mapping):
                problems.append(f"{r_at}: must be a mapping")
                continue
            _unknown_fields(r, RESTRICTION_FIELDS, r_at, problems, from_file)
            restriction = {"type": r.get("type"), "start_time_of_day": clock_text(r.get("start_time_of_day")),
                           "duration_seconds": r.get("duration_seconds")}
            if r.get("start_day_of_week") is not None:
                restriction["start_day_of_week"] = r.get("start_day_of_week")
            restrictions.append(restriction)
        layer["restrictions"] = restrictions
        layers.append(layer)
    return layers


def _rules(value: Any, where: str, problems: list[str], from_file: bool) -> list[Entry]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of escalation rules")
    rules: list[Entry] = []
    for index, raw in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{at}: must be a mapping")
            continue
        _unknown_fields(raw, RULE_FIELDS, at, problems, from_file)
        targets = []
        for t_index, target in enumerate(raw.get("targets") or []):
            if not (isinstance(target, Mapping) and len(target) == 1
                    and next(iter(target)) in ("user", "schedule")):
                problems.append(f"{at}.targets[{t_index}]: must be {{user: EMAIL}} or {{schedule: NAME}}")
                continue
            [(kind, name)] = target.items()
            targets.append({kind: str(name).lower() if kind == "user" else str(name)})
        if not targets:
            problems.append(f"{at}.targets: name at least one user or schedule")
        rule: Entry = {k: v for k, v in raw.items() if str(k).startswith("_")}
        rule.update(escalation_delay_in_minutes=raw.get("escalation_delay_in_minutes"),
                    assignment_strategy=raw.get("assignment_strategy") or "assign_to_everyone", targets=targets)
        rules.append(rule)
    return rules


def _filter(value: Any) -> Any:
    if value in (None, "account", {"account": None}):
        return "account"
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in ("service", "team"):
        [(kind, name)] = value.items()
        return {str(kind): str(name)}
    raise ValueError("must be account, {service: NAME} or {team: NAME}")


def ordered(section: Section, entry: Mapping[str, Any]) -> Entry:
    """The entry's fields in the section's order (for writing), ids left out."""
    out: Entry = {}
    for name in section.fields:
        if name not in entry:
            continue
        spec = section.collections.get(name)
        out[name] = _ordered_items(spec, entry[name]) if spec is not None else strip_private(entry[name])
    return out


def _ordered_items(spec: Collection, items: Any) -> Any:
    if not isinstance(items, list):
        return strip_private(items)
    out = []
    for item in items:
        fields: Entry = {}
        for name in spec.fields:
            if name in item:
                nested = spec.nested.get(name)
                fields[name] = _ordered_items(nested, item[name]) if nested else strip_private(item[name])
        out.append(fields)
    return out
