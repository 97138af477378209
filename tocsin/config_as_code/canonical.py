"""Normalising a document: what a person wrote (or a server answered) -> the canonical form that
``plan`` compares (times in UTC, emails lower-case, unordered lists sorted, entries sorted by key,
secrets as ``{env: NAME}`` references), every problem reported rather than the first; and an
entry's fields in the order they are written. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tocsin.config_as_code import env_refs
from tocsin.config_as_code.document import (
    BY_NAME,
    CONTACT_METHODS,
    CONTACT_TYPES,
    LAYER_FIELDS,
    MEMBERS,
    POLICIES,
    RESTRICTION_FIELDS,
    RULE_FIELDS,
    SCHEDULES,
    SECTIONS,
    USERS,
    VERSION,
    WEBHOOKS,
    Collection,
    Document,
    DocumentError,
    Entry,
    Section,
    clock_text,
    key_of,
    strip_private,
    utc_text,
)


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
    if name in section.write_only:
        return _headers(value) if section is WEBHOOKS else env_refs.reference(value)
    if name == "acting_user":
        return str(value).strip().lower() if value else None
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


def _headers(value: Any) -> list[Entry]:
    """A webhook subscription's custom headers: names, and each value as ``{env: NAME}``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(h, Mapping) and set(h) == {"name", "value"}
                                              for h in value):
        raise ValueError("must be a list of {name: HEADER, value: {env: VARIABLE}}")
    headers: list[Entry] = [{"name": str(h["name"]), "value": env_refs.reference(h["value"])} for h in value]
    names = [str(h["name"]).lower() for h in headers]
    if len(set(names)) != len(names):
        raise ValueError("each header name may appear once")
    return sorted(headers, key=lambda h: str(h["name"]).lower())


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
