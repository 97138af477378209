"""Importing a PagerDuty account (or any server speaking PagerDuty's REST API v2) into Tocsin.

1. Read the source into a configuration document (``config_as_code.reader`` and ``from_api``):
   users with contact methods and notification rules, teams and members, schedules (every layer
   and restriction as it is: Tocsin shares the model, nothing is snapped or merged), escalation
   policies (delays as they are), services (timeouts, urgency rules, support hours, scheduled
   actions) with their integrations and integration keys, webhook subscriptions and open
   maintenance windows; plus priorities and the schedules' overrides in a window (90 days).
2. Read the target the same way and plan additively (``plan(additive=True)``): objects are matched
   by natural key — users by email, teams, schedules, policies and services by name, integrations
   by integration key, windows by description and start, webhooks by URL and filter, priorities by
   name, overrides by user, start and end. A re-run therefore updates what it made (and anything
   of the same name made by hand), never duplicates it, never deletes anything, and leaves alone
   what the target has beyond the source (another contact method, member or integration).
3. Apply the plan, then priorities and overrides, and report what could not be carried and why.

Integration keys are kept through Tocsin's admin-only extension of ``POST
/services/{id}/integrations`` (``integration_key``), so monitoring tools need only the new
Events URL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tocsin.client import ApiError, RestClient
from tocsin.config_as_code import from_api, reader
from tocsin.config_as_code.applier import Applier, Outcome, about_one, reason
from tocsin.config_as_code.document import Document, Entry, utc_text
from tocsin.config_as_code.plan import Plan, plan
from tocsin.config_as_code.source import Names, Note, Source, names_of
from tocsin.config_as_code.to_api import override_body

OVERRIDE_DAYS = 90
OVERRIDE_BATCH = 100  # POST /schedules/{id}/overrides takes up to 100 at once
PAGERDUTY_API = "https://api.pagerduty.com"


@dataclass
class Prepared:
    """What an import would do, worked out without writing anything."""

    plan: Plan
    source: Document
    target: Document
    notes: list[Note]
    priorities: list[dict[str, Any]]  # the source's priorities the target lacks (by name)
    overrides: dict[str, list[Entry]]  # schedule name -> overrides the target lacks
    since: datetime
    until: datetime

    @property
    def override_count(self) -> int:
        return sum(len(v) for v in self.overrides.values())


@dataclass
class Extra:
    """The outcome of one priority or one schedule's overrides."""

    kind: str
    name: str
    ok: bool
    message: str

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "ok": self.ok, "message": self.message}


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    extras: list[Extra] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok) + sum(1 for e in self.extras if not e.ok)


def _source_overrides(pd: RestClient, source: Source, names: Names, since: datetime,
                      until: datetime, notes: list[Note]) -> dict[str, list[Entry]]:
    found: dict[str, list[Entry]] = {}
    for schedule in source.schedules:
        name = names.schedules.get(str(schedule.get("id")))
        if name is None:
            continue
        items: list[Entry] = []
        for override in reader.overrides(pd, str(schedule["id"]), since, until):
            user_id = str((override.get("user") or {}).get("id"))
            email = names.users.get(user_id)
            if email is None:
                notes.append(Note("override", f"{name}: {override.get('start')}", f"its user {user_id} is not carried"))
                continue
            items.append({"user": email, "start": utc_text(override["start"]), "end": utc_text(override["end"])})
        items.sort(key=lambda o: (o["start"], o["end"], o["user"]))
        for before, after in itertools.pairwise(items):
            if after["start"] < before["end"]:
                notes.append(Note("override", f"{name}: {after['start']}",
                                  "overlaps an earlier override; the API does not say which was made last, so the "
                                  "later-starting one wins in Tocsin"))
        if items:
            found[name] = items
    return found


def _missing_overrides(target_rest: RestClient, target: Document, wanted: dict[str, list[Entry]], since: datetime,
                       until: datetime, emails: dict[str, str]) -> dict[str, list[Entry]]:
    """The wanted overrides each target schedule does not have yet (a new schedule has none)."""
    ids = {e["name"].casefold(): e.get("_id") for e in target.get("schedules", [])}
    missing: dict[str, list[Entry]] = {}
    for name, items in wanted.items():
        schedule_id = ids.get(name.casefold())
        have: set[tuple[str, str, str]] = set()
        if schedule_id:
            for o in reader.overrides(target_rest, str(schedule_id), since, until):
                email = emails.get(str((o.get("user") or {}).get("id")), "")
                have.add((email, utc_text(o["start"]), utc_text(o["end"])))
        todo = [o for o in items if (o["user"], o["start"], o["end"]) not in have]
        if todo:
            missing[name] = todo
    return missing


def prepare(pd: RestClient, target_rest: RestClient, now: datetime, days: int = OVERRIDE_DAYS,
            step: Callable[[str], None] = lambda _: None) -> Prepared:
    """Read both sides and plan; nothing is written."""
    since, until = now, now + timedelta(days=days)
    step("source")
    source_raw = reader.read(pd, now, lambda part: step(f"source: {part}"))
    source, notes = from_api.document(source_raw)
    names = names_of(source_raw, [])
    overrides = _source_overrides(pd, source_raw, names, since, until, notes)
    source_priorities = reader.priorities(pd)
    step("target")
    target_raw = reader.read(target_rest, now, lambda part: step(f"target: {part}"))
    target, _ = from_api.document(target_raw)
    if target_raw.webhooks is None and source.get("webhook_subscriptions"):
        for entry in source.pop("webhook_subscriptions"):
            notes.append(Note("webhook subscription", entry["url"], "the target has no webhook subscriptions API"))
    target_emails = {str(u["id"]): str(u.get("email") or "").lower() for u in target_raw.users}
    have_priorities = {str(p.get("name") or "").casefold() for p in reader.priorities(target_rest)}
    missing_priorities = [p for p in source_priorities if str(p.get("name") or "").casefold() not in have_priorities]
    return Prepared(
        plan=plan(source, target, additive=True, now=now), source=source, target=target, notes=notes,
        priorities=missing_priorities,
        overrides=_missing_overrides(target_rest, target, overrides, since, until, target_emails),
        since=since, until=until,
    )


def _create_priorities(target_rest: RestClient, wanted: list[dict[str, Any]]) -> list[Extra]:
    extras = []
    for priority in wanted:
        name = str(priority.get("name"))
        body = {"priority": {"name": name, "description": priority.get("description") or ""}}
        try:
            target_rest.post("/priorities", body)
            extras.append(Extra("priority", name, True, "created"))
        except ApiError as exc:
            if not about_one(exc) and exc.status != 405:
                raise
            extras.append(Extra("priority", name, False, reason(exc)))
    return extras


def _create_overrides(target_rest: RestClient, schedule_id: str, name: str, items: list[Entry],
                      user_id: Callable[[str], str | None]) -> Extra:
    made, refused = 0, []
    bodies = []
    for o in items:
        uid = user_id(o["user"])
        if uid is None:
            refused.append(f"{o['start']}: user {o['user']} is not on the target")
        else:
            bodies.append(override_body(o["start"], o["end"], uid))
    for start in range(0, len(bodies), OVERRIDE_BATCH):
        try:
            batch = {"overrides": bodies[start:start + OVERRIDE_BATCH]}
            answer = target_rest.post(f"/schedules/{schedule_id}/overrides", batch)
        except ApiError as exc:
            if not about_one(exc):
                raise
            refused.append(reason(exc))
            continue
        for result in answer if isinstance(answer, list) else []:
            if result.get("status") == 201:
                made += 1
            else:
                refused.append("; ".join(result.get("errors") or ["refused"]))
    message = f"{made} created" + (f"; refused: {'; '.join(refused[:3])}" if refused else "")
    return Extra("overrides", name, not refused, message)


def apply(target_rest: RestClient, prepared: Prepared, now: datetime,
          advance: Callable[[int], None] = lambda n: None) -> Result:
    """Carry the plan out, then priorities and overrides. ``advance`` is told of each step done
    (``work(prepared)`` steps in all)."""
    applier = Applier(target_rest, prepared.target, now=now, additive=True)
    result = Result(outcomes=applier.apply(prepared.plan.changes, advance))
    result.extras += _create_priorities(target_rest, prepared.priorities)
    advance(len(prepared.priorities))
    for name, items in prepared.overrides.items():
        schedule_id = applier.ids.get("schedules", name)
        if schedule_id is None:
            result.extras.append(Extra("overrides", name, False, "the schedule is not on the target"))
        else:
            result.extras.append(_create_overrides(target_rest, schedule_id, name, items,
                                                   lambda email: applier.ids.get("users", email)))
        advance(1)
    return result


def work(prepared: Prepared) -> int:
    """How many steps ``apply`` reports (for a progress bar)."""
    return len(prepared.plan.changes) + len(prepared.priorities) + len(prepared.overrides)
