"""The outbox: every change's v3 events, stored in the change's own transaction (the before-commit hook).

``emit_transaction`` runs just before every write transaction commits (``Database.before_commit``;
the composition root registers it beside the engine's planner). It reads what the transaction
changed — the incidents' transition records (``incidents.transition_writer.recorded``) and the
services' changes (``services.queries.service_changes``) — maps each to its v3 event type
(``event_types``), and for every active destination whose ``events`` and ``filter`` match (a
webhook subscription; or a service's forwarder or chat webhook, a service filter with perhaps only
some urgencies), stores one delivery. The change and its deliveries commit together or not at all: no
event is lost to a crash, none is sent for a change that rolled back.

Set-based: when no subscription wants anything, one small SELECT (the active subscriptions) per
transaction that changed an incident; otherwise a fixed handful more (incidents, names,
policies and teams, priorities, notes, alerts' clients) and two multi-row INSERTs, however many
incidents the transaction touched (an events-processor batch of 100-200 included).

Each event is rendered once (``payloads``) as the exact JSON body receivers get, showing the
incident as it stood right after that change (``moments``), and shared by every subscription it
goes to; each delivery goes in order behind the earlier ones of its incident (its ``stream``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from tocsin.auth.models import User
from tocsin.db.base import table_of
from tocsin.escalation.models import EscalationPolicy, EscalationPolicyTeam
from tocsin.http.refs import reference
from tocsin.incidents.models import Alert, Incident, IncidentNote, Priority
from tocsin.incidents.transition_records import Annotated, ConferenceBridgeChanged, Record, Triggered
from tocsin.incidents.transition_writer import recorded
from tocsin.services.models import Service
from tocsin.services.queries import ServiceChange, service_changes
from tocsin.teams.models import Team
from tocsin.webhooks import payloads
from tocsin.webhooks.event_types import ANNOTATED, CONFERENCE_BRIDGE_UPDATED, event_type
from tocsin.webhooks.models import CHAT, FORWARDER, WEBHOOK, Destination, ServiceDestination, WebhookSubscription
from tocsin.webhooks.moments import Moment, moments
from tocsin.webhooks.queue import QUEUED, Event, Send, new_uuid, store

EMITTED = "webhooks_emitted"  # session.info: how many of recorded(session) were looked at
SERVICES_EMITTED = "webhooks_services_emitted"

Announce = Callable[[Session, list[str]], None]  # the ids of the deliveries queued
Json = dict[str, Any]
ACCOUNT, SERVICE_FILTER, TEAM_FILTER = "account_reference", "service_reference", "team_reference"


@dataclass(frozen=True, slots=True)
class Target:
    """An active, enabled destination as the outbox matches it: a webhook subscription, or a
    service's forwarder or chat webhook (a service filter, and perhaps only some urgencies)."""

    id: str
    events: frozenset[str]
    filter_type: str
    filter_id: str | None
    urgencies: frozenset[str] | None = None

    def wants(self, event: str, service_id: str, team_ids: Iterable[str], urgency: str | None = None) -> bool:
        if event not in self.events:
            return False
        if self.urgencies is not None and urgency not in self.urgencies:
            return False
        if self.filter_type == SERVICE_FILTER:
            return self.filter_id == service_id
        if self.filter_type == TEAM_FILTER:
            return self.filter_id in set(team_ids)
        return True


@functools.cache
def _targets_query() -> Any:
    """Built once, on the tables (no ORM entities): building a statement, or the ORM's handling of
    running one, costs more than running this one on a small table, and it runs in every
    transaction that changed an incident (each events-processor batch). One statement for every
    kind: each destination has its settings in one of the two joined tables."""
    d, w, s = (table_of(t).c for t in (Destination, WebhookSubscription, ServiceDestination))
    return (select(d.id, w.events, w.filter_type, w.filter_id, s.events, s.service_id, s.urgencies)
            .select_from(table_of(Destination).outerjoin(table_of(WebhookSubscription), w.id == d.id)
                         .outerjoin(table_of(ServiceDestination), s.id == d.id))
            .where(d.kind.in_((WEBHOOK, FORWARDER, CHAT)), d.active.is_(True), d.temporarily_disabled.is_(False))
            .order_by(d.id))


def targets(session: Session) -> list[Target]:
    """The destinations that receive events now (active, not temporarily disabled). One SELECT."""
    found: list[Target] = []
    for i, events, ftype, fid, service_events, service_id, urgencies in session.connection().execute(_targets_query()):
        if ftype is not None:
            found.append(Target(i, frozenset(events or ()), ftype, fid))
        elif service_id is not None:
            found.append(Target(i, frozenset(service_events or ()), SERVICE_FILTER, service_id,
                                frozenset(urgencies) if urgencies is not None else None))
    return found


def emit_transaction(session: Session, base_url: str, announce: Announce) -> None:
    """The before-commit hook: store the deliveries of every change this transaction made since
    the hook last looked; ``announce(session, ids)`` when deliveries were queued in the
    transaction (here, or by a ping or redelivery): the running engine takes them as the
    transaction commits, or is woken after the commit."""
    _emit(session, base_url)
    if queued := session.info.pop(QUEUED, None):
        announce(session, queued)


def _emit(session: Session, base_url: str) -> None:
    info = session.info
    records = recorded(session)
    fresh = records[info.get(EMITTED, 0):]
    info[EMITTED] = len(records)
    changes = service_changes(session)
    fresh_services = changes[info.get(SERVICES_EMITTED, 0):]
    info[SERVICES_EMITTED] = len(changes)
    typed = [(r, kind) for r in fresh if (kind := event_type(r)) is not None]
    if not typed and not fresh_services:
        return  # most transactions: nothing a webhook reports, nothing read
    found = targets(session)
    wanted = {e for t in found for e in t.events}
    typed = [(r, kind) for r, kind in typed if kind in wanted]
    services = [c for c in fresh_services if f"service.{c.action}" in wanted]
    if not typed and not services:
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # the ORM changes of the transaction, before reading them back
    outbox = _Outbox(session, base_url, found)
    if typed:
        outbox.incidents(typed)
    if services:
        outbox.services(services)
    if outbox.sends:
        store(session, outbox.events, outbox.sends, max(e.at for e in outbox.events))


def render(event: Json) -> str:
    return orjson.dumps(event).decode()


class _Names:
    """Names and references of what events point at, loaded in bulk."""

    def __init__(self, session: Session, base: str) -> None:
        self.session, self.base = session, base
        self.users: dict[str, str] = {}
        self.services: dict[str, str] = {}
        self._refs: dict[tuple[str, str], Json] = {}

    def load_users(self, ids: Iterable[str]) -> None:
        wanted = sorted({i for i in ids if i} - self.users.keys())
        if wanted:
            self.users.update(self.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())

    def load_services(self, ids: Iterable[str]) -> None:
        wanted = sorted({i for i in ids if i} - self.services.keys())
        if wanted:
            self.services.update(self.session.execute(
                select(Service.id, Service.name).where(Service.id.in_(wanted))).all())

    def user(self, user_id: str) -> Json:
        return self._ref("user", user_id, self.users)

    def service(self, service_id: str) -> Json:
        return self._ref("service", service_id, self.services)

    def _ref(self, kind: str, ident: str, names: dict[str, str]) -> Json:
        """Made once per transaction and shared (events are serialised as they are made)."""
        found = self._refs.get((kind, ident))
        if found is None:
            found = self._refs[(kind, ident)] = reference(self.base, kind, ident, names.get(ident, ident))
        return found

    def agent(self, agent: Json | None) -> Json | None:
        """The user or credential that acted (None: Tocsin itself, e.g. an escalation timeout)."""
        if not agent:
            return None
        kind = str(agent.get("type", "")).removesuffix("_reference")
        if kind == "user":
            return self.user(str(agent["id"]))
        if kind == "service":
            return self.service(str(agent["id"]))
        return {"id": agent.get("id"), "type": agent.get("type"), "summary": kind.replace("_", " ").title(),
                "self": None, "html_url": None}


@dataclass
class _Policies:
    names: dict[str, str]
    teams: dict[str, list[str]]
    team_names: dict[str, str]


def _policies(session: Session, ids: Iterable[str | None]) -> _Policies:
    """Names and teams of policies (deleted ones included) in one statement."""
    wanted = sorted({i for i in ids if i})
    found = _Policies({}, {i: [] for i in wanted}, {})
    if not wanted:
        return found
    for policy_id, name, team_id, team_name in session.execute(
            select(EscalationPolicy.id, EscalationPolicy.name, EscalationPolicyTeam.team_id, Team.name)
            .outerjoin(EscalationPolicyTeam, EscalationPolicyTeam.policy_id == EscalationPolicy.id)
            .outerjoin(Team, and_(Team.id == EscalationPolicyTeam.team_id, Team.deleted_at.is_(None)))
            .where(EscalationPolicy.id.in_(wanted)).order_by(EscalationPolicy.id, EscalationPolicyTeam.team_id)):
        found.names[policy_id] = name
        if team_id is not None:
            found.teams[policy_id].append(team_id)
            found.team_names[team_id] = team_name or team_id
    return found


class _Outbox:
    def __init__(self, session: Session, base: str, found: list[Target]) -> None:
        self.session, self.base, self.targets = session, base, found
        self.names = _Names(session, base)
        self.events: list[Event] = []
        self.sends: list[Send] = []
        self._policies: dict[str, tuple[Json | None, list[Json]]] = {}

    def _add(self, kind: str, resource_type: str, resource_id: str, stream: str, at: datetime,
             agent: Json | None, client: Json | None, data: Json, to: Sequence[Target]) -> None:
        if not to:
            return
        event_id = new_uuid()
        body = render(payloads.envelope(event_id, kind, resource_type, at, agent, client, data))
        event = Event(event_id, kind, resource_type, resource_id, at, body)
        self.events.append(event)
        self.sends.extend(Send(event, t.id, stream) for t in to)

    def _policy_refs(self, policies: _Policies, policy_id: str | None) -> tuple[Json | None, list[Json]]:
        if not policy_id:
            return None, []
        found = self._policies.get(policy_id)
        if found is None:
            ref = reference(self.base, "escalation_policy", policy_id, policies.names.get(policy_id, policy_id))
            teams = [reference(self.base, "team", t, policies.team_names.get(t, t))
                     for t in policies.teams.get(policy_id, [])]
            found = self._policies[policy_id] = (ref, teams)
        return found

    # --- incidents ------------------------------------------------------------------------

    def incidents(self, typed: list[tuple[Record, str]]) -> None:
        session, base = self.session, self.base
        ids = sorted({r.incident_id for r, _ in typed})
        rows = {row.id: row for row in session.execute(
            select(Incident.id, Incident.number, Incident.title, Incident.status, Incident.urgency,
                   Incident.service_id, Incident.incident_key, Incident.escalation_policy_id, Incident.priority_id,
                   Incident.assignments, Incident.created_at, Incident.conference_bridge, Incident.merged_into_id)
            .where(Incident.id.in_(ids)))}
        # Every record of those incidents in this transaction replays their fields, not only
        # those that became events (an assignment between a trigger and an acknowledge counts).
        everything: dict[str, list[Record]] = {i: [] for i in ids}
        for record in recorded(session):
            if record.incident_id in everything:
                everything[record.incident_id].append(record)
        states: dict[int, Moment] = {}  # by id(record): records hold dicts, so are not hashable
        for iid, own in everything.items():
            row = rows.get(iid)
            if row is None:
                continue
            final = Moment(status=row.status, assignees=tuple(a["assignee"]["id"] for a in row.assignments or []),
                           priority_id=row.priority_id, urgency=row.urgency, title=row.title,
                           conference_bridge=row.conference_bridge, merged_into_id=row.merged_into_id)
            for record, moment in zip(own, moments(final, own), strict=True):
                states[id(record)] = moment
        policies = _policies(session, {row.escalation_policy_id for row in rows.values()})
        agents = [r.agent for r, _ in typed if r.agent]
        self.names.load_users({u for m in states.values() for u in m.assignees}
                              | {str(a["id"]) for a in agents if a.get("type") == "user_reference"})
        self.names.load_services({row.service_id for row in rows.values()}
                                 | {str(a["id"]) for a in agents if a.get("type") == "service_reference"})
        priority_ids = sorted({m.priority_id for m in states.values() if m.priority_id})
        priorities = {pid: reference(base, "priority", pid, name) for pid, name in session.execute(
            select(Priority.id, Priority.name).where(Priority.id.in_(priority_ids)))} if priority_ids else {}
        merged_ids = sorted({m.merged_into_id for m in states.values() if m.merged_into_id})
        merged = {i: reference(base, "incident", i, f"[#{n}] {t}") for i, n, t in session.execute(
            select(Incident.id, Incident.number, Incident.title).where(Incident.id.in_(merged_ids)))
        } if merged_ids else {}
        notes = self._notes([r for r, kind in typed if kind == ANNOTATED])
        clients = self._clients([r for r, _ in typed if isinstance(r, Triggered) and r.alert_id])
        users = {u: self.names.user(u) for m in states.values() for u in m.assignees}
        facts: dict[str, payloads.IncidentFacts] = {}
        for iid, row in rows.items():
            policy, teams = self._policy_refs(policies, row.escalation_policy_id)
            facts[iid] = payloads.IncidentFacts(
                id=iid, number=row.number, incident_key=row.incident_key, created_at=row.created_at,
                self=reference(base, "incident", iid, f"[#{row.number}] {row.title}"),
                service=self.names.service(row.service_id), escalation_policy=policy, teams=teams,
                users=users,
                priorities=priorities, incidents=merged)
        for record, kind in typed:
            row = rows.get(record.incident_id)
            if row is None:
                continue
            team_ids = policies.teams.get(row.escalation_policy_id or "", [])
            at_change = states.get(id(record))
            urgency = at_change.urgency if at_change is not None else row.urgency
            to = [t for t in self.targets if t.wants(kind, row.service_id, team_ids, urgency)]
            incident = facts[record.incident_id]
            if kind == ANNOTATED:
                data = payloads.note_data(incident.self, notes.get(id(record)), record.summary)
            elif kind == CONFERENCE_BRIDGE_UPDATED:
                assert isinstance(record, ConferenceBridgeChanged)
                data = payloads.bridge_data(incident.self, record.to_bridge)
            else:
                data = payloads.incident_data(incident, states[id(record)])
            self._add(kind, payloads.INCIDENT, record.incident_id, record.incident_id, record.at,
                      self.names.agent(record.agent), clients.get(id(record)), data, to)

    def _notes(self, annotated: list[Record]) -> dict[int, str]:
        """Each annotation's note id: the note its change wrote (same incident, instant and text)."""
        if not annotated:
            return {}
        ids = sorted({r.incident_id for r in annotated})
        found: dict[tuple[str, datetime, str], str] = {}
        for note_id, incident_id, at, content in self.session.execute(
                select(IncidentNote.id, IncidentNote.incident_id, IncidentNote.created_at, IncidentNote.content)
                .where(IncidentNote.incident_id.in_(ids), IncidentNote.created_at.in_({r.at for r in annotated}))):
            found.setdefault((incident_id, at, content), note_id)
        return {id(r): found[key] for r in annotated if isinstance(r, Annotated)
                and (key := (r.incident_id, r.at, r.summary)) in found}

    def _clients(self, triggers: list[Record]) -> dict[int, Json]:
        """The monitoring tool that sent a trigger (the event's ``client``), as ``{"name"}``."""
        alert_ids = sorted({r.alert_id for r in triggers if isinstance(r, Triggered) and r.alert_id})
        if not alert_ids:
            return {}
        named = {alert_id: body.get("client") for alert_id, body in self.session.execute(
            select(Alert.id, Alert.body).where(Alert.id.in_(alert_ids))) if isinstance(body, dict)}
        return {id(r): {"name": str(name)} for r in triggers if isinstance(r, Triggered)
                and (name := named.get(r.alert_id or ""))}

    # --- services -------------------------------------------------------------------------

    def services(self, changes: list[ServiceChange]) -> None:
        ids = sorted({c.service_id for c in changes})
        rows = {row.id: row for row in self.session.execute(
            select(Service.id, Service.name, Service.description, Service.status, Service.escalation_policy_id)
            .where(Service.id.in_(ids)))}
        policies = _policies(self.session, {row.escalation_policy_id for row in rows.values()})
        self.names.load_users(str((c.agent or {}).get("id")) for c in changes
                              if (c.agent or {}).get("type") == "user_reference")
        for change in changes:
            row = rows.get(change.service_id)
            if row is None:
                continue
            kind = f"service.{change.action}"
            policy, teams = self._policy_refs(policies, row.escalation_policy_id)
            team_ids = policies.teams.get(row.escalation_policy_id or "", [])
            to = [t for t in self.targets if t.wants(kind, row.id, team_ids)]
            data = payloads.service_data(reference(self.base, "service", row.id, row.name), name=row.name,
                                         description=row.description, status=row.status,
                                         escalation_policy=policy, teams=teams)
            self._add(kind, payloads.SERVICE, row.id, f"service:{row.id}", change.at,
                      self.names.agent(change.agent), None, data, to)
