"""What applying a document would change: per object create, update or delete, per field the old
and the new value. Pure: the same inputs always give the same plan, and the applier carries out
exactly what the plan lists.

Two ways to apply:

- ``additive=False`` (``tocsin apply``): the document is the truth for every field and
  sub-collection it writes: a contact method, team member or integration the entry does not list
  is removed. Objects are deleted only with ``prune`` and only in the sections the document has.
- ``additive=True`` (``tocsin import pagerduty``): nothing is deleted or removed, so edits made
  on the Tocsin side to what the source does not have (another contact method, a member, an
  integration) survive a re-run; fields the source has are brought in line.

Objects are matched by key, case-insensitively (a renamed case shows as a change of name). The
account owner is never deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tocsin.config_as_code.document import (
    SECTIONS,
    TEAMS,
    USERS,
    WINDOWS,
    Collection,
    Document,
    Entry,
    Section,
    key_of,
    parse_time,
    strip_private,
)

Action = Literal["create", "update", "delete"]
ItemOp = Literal["set", "add", "change", "remove"]


@dataclass(frozen=True)
class FieldChange:
    path: str  # "description", "contact_methods[sms 5555550100]"
    before: Any  # None for an added item
    after: Any  # None for a removed item
    op: ItemOp = "set"
    collection: str | None = None  # the sub-collection an item change belongs to
    item_key: str | None = None

    def json(self) -> dict[str, Any]:
        return {"path": self.path, "op": self.op, "before": strip_private(self.before),
                "after": strip_private(self.after)}


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    action: Action
    desired: Entry | None = None
    current: Entry | None = None
    fields: tuple[FieldChange, ...] = ()

    @property
    def title(self) -> str:
        return next(s.title for s in SECTIONS if s.name == self.section)

    def json(self) -> dict[str, Any]:
        return {"section": self.section, "key": self.key, "action": self.action,
                "fields": [f.json() for f in self.fields]}


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: int = 0
    kept: tuple[str, ...] = field(default=())  # objects a prune would delete but may not (the owner)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> str:
        return (f"{self.count('create')} to create, {self.count('update')} to update, "
                f"{self.count('delete')} to delete, {self.unchanged} unchanged")

    def json(self) -> dict[str, Any]:
        return {"changes": [c.json() for c in self.changes], "create": self.count("create"),
                "update": self.count("update"), "delete": self.count("delete"), "unchanged": self.unchanged,
                "kept": list(self.kept)}


# --- comparing ------------------------------------------------------------------------------------

def same(a: Any, b: Any) -> bool:
    """Equal as configuration: ids ignored, None and a missing value alike."""
    return bool(_canon(strip_private(a)) == _canon(strip_private(b)))


def _canon(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canon(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


def match_items(spec: Collection, desired: Sequence[Entry], current: Sequence[Entry]
                ) -> tuple[list[tuple[Entry, Entry]], list[Entry], list[Entry]]:
    """(pairs, desired items with no current one, current items with no desired one)."""
    by_key = {spec.key(c): c for c in current}
    pairs: list[tuple[Entry, Entry]] = []
    added: list[Entry] = []
    used: set[int] = set()
    for item in desired:
        found = by_key.get(spec.key(item))
        if found is not None and id(found) not in used:
            pairs.append((item, found))
            used.add(id(found))
        else:
            added.append(item)
    if spec.fallback is not None and added:
        fallback = spec.fallback
        still: list[Entry] = []
        for item in added:
            if spec.key(item) != fallback(item):  # its own key is complete: it names another item
                still.append(item)
                continue
            found = next((c for c in current if id(c) not in used and fallback(c) == fallback(item)), None)
            if found is None:
                still.append(item)
            else:
                pairs.append((item, found))
                used.add(id(found))
        added = still
    removed = [c for c in current if id(c) not in used]
    return pairs, added, removed


def item_changes(spec: Collection, name: str, desired: Sequence[Entry], current: Sequence[Entry],
                 additive: bool) -> list[FieldChange]:
    pairs, added, removed = match_items(spec, desired, current)
    changes = [FieldChange(f"{name}[{spec.key(d)}]", None, d, "add", name, spec.key(d)) for d in added]
    changes += [FieldChange(f"{name}[{spec.key(c)}]", c, d, "change", name, spec.key(c))
                for d, c in pairs if item_differs(spec, d, c, additive)]
    if not additive:
        changes += [FieldChange(f"{name}[{spec.key(c)}]", c, None, "remove", name, spec.key(c)) for c in removed]
    return changes


def item_differs(spec: Collection, desired: Entry, current: Entry, additive: bool) -> bool:
    for name, value in desired.items():
        if name.startswith("_"):
            continue
        nested = spec.nested.get(name)
        if nested is not None:
            if item_changes(nested, name, value or [], current.get(name) or [], additive):
                return True
        elif not same(value, current.get(name)):
            return True
    return False


def entry_changes(section: Section, desired: Entry, current: Entry, additive: bool,
                  now: datetime | None = None) -> list[FieldChange]:
    """What differs in the fields ``desired`` writes."""
    changes: list[FieldChange] = []
    for name, value in desired.items():
        if name.startswith("_") or name in section.write_only:  # secrets: the API never shows them
            continue
        spec = section.collections.get(name)
        if spec is not None:
            changes += item_changes(spec, name, value or [], current.get(name) or [], additive)
        elif section is WINDOWS and name == "start" and _both_begun(value, current.get(name), now):
            continue  # a window that has begun keeps the start it had
        elif not same(value, current.get(name)):
            changes.append(FieldChange(name, current.get(name), value))
    return changes


def _both_begun(a: Any, b: Any, now: datetime | None) -> bool:
    return now is not None and bool(a) and bool(b) and parse_time(a) <= now and parse_time(b) <= now


# --- planning -------------------------------------------------------------------------------------

def plan(desired: Document, current: Document, *, additive: bool = False, prune: bool = False,
         now: datetime | None = None) -> Plan:
    """Creates and updates in dependency order (users, teams with parents first, schedules,
    policies, services, webhooks, forwarders, chat webhooks, windows), then deletes in the reverse
    order. Write-only fields (secrets) are never compared: they are sent when an object is made."""
    upserts: list[Change] = []
    deletes: list[Change] = []
    kept: list[str] = []
    unchanged = 0
    for section in SECTIONS:
        if section.name not in desired:
            continue
        have = {key_of(section, e, now).casefold(): e for e in current.get(section.name, [])}
        wanted: set[str] = set()
        made: list[Change] = []
        for entry in desired[section.name]:
            key = key_of(section, entry, now)
            wanted.add(key.casefold())
            existing = have.get(key.casefold())
            if existing is None:
                made.append(Change(section.name, key, "create", desired=entry))
                continue
            fields = entry_changes(section, entry, existing, additive, now)
            if fields:
                made.append(Change(section.name, key, "update", desired=entry, current=existing, fields=tuple(fields)))
            else:
                unchanged += 1
        if section is TEAMS:
            made.sort(key=lambda c: _depth(c.desired or {}, desired[TEAMS.name]))
        upserts += made
        if prune and not additive:
            gone = [e for k, e in have.items() if k not in wanted]
            for entry in gone:
                key = key_of(section, entry, now)
                if section is USERS and entry.get("role") == "owner":
                    kept.append(f"user {key} (the account owner is never deleted)")
                    continue
                deletes.append(Change(section.name, key, "delete", current=entry))
    deletes = _delete_order(deletes, current)
    return Plan(tuple(upserts + deletes), unchanged, tuple(kept))


def _depth(entry: Entry, teams: Sequence[Entry]) -> int:
    """How many ancestors a team has in the document (parents are made first)."""
    by_name = {t.get("name"): t for t in teams}
    depth, seen = 0, set()
    parent = entry.get("parent")
    while parent and parent in by_name and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = by_name[parent].get("parent")
    return depth


def _delete_order(deletes: list[Change], current: Document) -> list[Change]:
    order = {s.name: i for i, s in enumerate(SECTIONS)}
    teams = current.get(TEAMS.name, [])
    return sorted(deletes, key=lambda c: (-order[c.section],
                                          -_depth(c.current or {}, teams) if c.section == TEAMS.name else 0))


# --- showing --------------------------------------------------------------------------------------

MARK = {"create": "+", "update": "~", "delete": "-"}
ITEM_MARK = {"add": "+", "change": "~", "remove": "-", "set": " "}


def show(value: Any) -> str:
    """A value on one line, as JSON (so strings are quoted and nothing is ambiguous)."""
    text = json.dumps(strip_private(value), ensure_ascii=False, sort_keys=False, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def render(result: Plan) -> list[str]:
    """The plan as diff-like lines: ``+ service checkout`` then its fields, ``~`` for changes."""
    lines: list[str] = []
    for change in result.changes:
        lines.append(f"{MARK[change.action]} {change.title} {change.key}")
        if change.action == "create" and change.desired is not None:
            section = next(s for s in SECTIONS if s.name == change.section)
            for name in section.fields:
                if name in change.desired:
                    lines.append(f"    {name}: {show(change.desired[name])}")
        for f in change.fields:
            if f.op == "set":
                lines.append(f"    {f.path}: {show(f.before)} -> {show(f.after)}")
            elif f.op == "change":
                before = f.before or {}
                for name, value in (f.after or {}).items():
                    if not name.startswith("_") and not same(value, before.get(name)):
                        lines.append(f"  ~ {f.path}.{name}: {show(before.get(name))} -> {show(value)}")
            else:
                lines.append(f"  {ITEM_MARK[f.op]} {f.path}: {show(f.after if f.op == 'add' else f.before)}")
    for note in result.kept:
        lines.append(f"  (kept: {note})")
    lines.append(f"Plan: {result.summary()}.")
    return lines
