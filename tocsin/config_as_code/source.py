"""An account's configuration as the API answered it (``Source``), the names a document gives its
objects (``Names``: the first object of each name wins), and what could not be carried (``Note``).
Pure: the reader fills a Source, ``from_api`` converts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


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
    # Tocsin extensions, every service's (None: the server has none, as PagerDuty)
    forwarders: list[dict[str, Any]] | None = None
    chat_webhooks: list[dict[str, Any]] | None = None
    windows: list[dict[str, Any]] = field(default_factory=list)  # open ones (ongoing or to come)


@dataclass
class Names:
    """id -> the name documents use, per kind, and the first object seen with each name."""

    users: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)


def ref_id(ref: Any) -> str | None:
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

