"""Helpers for the engine tests: a frozen clock, people with notification rules, policies and
services over REST, reads of what the engine stored, the instance's link secret, signed links.

``run_engine`` runs the escalate and clock steps until nothing is due at the clock's time (the
notify step is left out: these tests judge the rows it would send)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.conftest import Harness
from tocsin.clock import FrozenClock
from tocsin.engine.escalate import EscalateStep
from tocsin.engine.models import IncidentEscalation, IncidentTimer
from tocsin.engine.step import Step
from tocsin.engine.timers import ClockStep
from tocsin.incidents.models import LogEntry
from tocsin.notifications.links import ACTION_PATH, sign
from tocsin.notifications.models import Notification
from tocsin.notifications.queries import link_secret

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
MINUTE = timedelta(minutes=1)


def start_clock(h: Harness, at: datetime = T0) -> FrozenClock:
    clock = FrozenClock(at)
    h.tocsin.runtime.clock = clock
    return clock


def clock(h: Harness) -> FrozenClock:
    found = h.tocsin.runtime.clock
    assert isinstance(found, FrozenClock)
    return found


async def advance(h: Harness, **delta: float) -> datetime:
    """Move the clock on and run the engine at the new time."""
    clock(h).advance(**delta)
    await run_engine(h)
    return clock(h).now()


async def run_engine(h: Harness) -> int:
    """Run the engine's steps at the clock's time until none has anything left to do; how many
    timers they handled."""
    def now() -> datetime:
        return h.tocsin.runtime.clock.now()

    steps: list[Step] = [EscalateStep(h.tocsin.db, now), ClockStep(h.tocsin.db, now)]
    handled = 0
    for _ in range(200):
        results = [await step.run(now()) for step in steps]
        handled += sum(r.done for r in results)
        if not any(r.done or r.more for r in results):
            return handled
    raise AssertionError("the engine never went idle")


# --- people, policies, services ---------------------------------------------------------------

async def person(h: Harness, name: str, *, sms: int | None = 5, low_phone: int | None = 2) -> str:
    """A user paged by email at once (every new user's rule), by SMS after ``sms`` minutes (high
    urgency) and by phone after ``low_phone`` minutes (low urgency)."""
    r = await h.client.post("/users", headers=h.writer, json={"user": {
        "name": name, "email": f"{name.lower()}@example.com"}})
    assert r.status_code == 201, r.text
    user_id: str = r.json()["user"]["id"]
    if sms is not None:
        await add_rule(h, user_id, "sms_contact_method", "5550100", sms, "high")
    if low_phone is not None:
        await add_rule(h, user_id, "phone_contact_method", "5550100", low_phone, "low")
    return user_id


async def add_rule(h: Harness, user_id: str, kind: str, address: str, delay: int, urgency: str) -> str:
    r = await h.client.post(f"/users/{user_id}/contact_methods", headers=h.writer, json={"contact_method": {
        "type": kind, "label": "Mobile", "address": address, "country_code": 1}})
    if r.status_code == 400 and "taken" in r.text:  # the same phone for SMS and voice: one each
        raise AssertionError(r.text)
    assert r.status_code == 201, r.text
    method = r.json()["contact_method"]["id"]
    r = await h.client.post(f"/users/{user_id}/notification_rules", headers=h.writer, json={"notification_rule": {
        "type": "assignment_notification_rule", "start_delay_in_minutes": delay, "urgency": urgency,
        "contact_method": {"id": method, "type": f"{kind}_reference"}}})
    assert r.status_code == 201, r.text
    return str(r.json()["notification_rule"]["id"])


Level = tuple[int, list[str]] | tuple[int, list[str], str]  # (delay, user ids[, strategy])


def policy_body(levels: list[Level], num_loops: int = 0, name: str = "Policy") -> dict[str, Any]:
    rules = []
    for level in levels:
        rule: dict[str, Any] = {"escalation_delay_in_minutes": level[0],
                                "targets": [{"id": u, "type": "user_reference"} for u in level[1]]}
        if len(level) == 3:
            rule["escalation_rule_assignment_strategy"] = {"type": level[2]}
        rules.append(rule)
    return {"escalation_policy": {"name": name, "num_loops": num_loops, "escalation_rules": rules}}


async def policy(h: Harness, levels: list[Level], num_loops: int = 0, name: str = "Policy") -> str:
    r = await h.client.post("/escalation_policies", headers=h.writer, json=policy_body(levels, num_loops, name))
    assert r.status_code == 201, r.text
    return str(r.json()["escalation_policy"]["id"])


@dataclass(frozen=True)
class Service:
    id: str
    routing_key: str


async def service(h: Harness, policy_id: str, **fields: Any) -> Service:
    """A service on ``policy_id`` (acknowledgement timeout 30 min, auto-resolve off unless given)
    with an Events API v2 integration."""
    body = {"name": f"svc {policy_id}", "escalation_policy": {"id": policy_id, "type": "escalation_policy_reference"},
            "acknowledgement_timeout": 1800, "auto_resolve_timeout": None, **fields}
    r = await h.client.post("/services", headers=h.writer, json={"service": body})
    assert r.status_code == 201, r.text
    service_id = r.json()["service"]["id"]
    r = await h.client.post(f"/services/{service_id}/integrations", headers=h.writer,
                            json={"integration": {"type": "events_api_v2_inbound_integration"}})
    assert r.status_code == 201, r.text
    return Service(service_id, r.json()["integration"]["integration_key"])


# --- incidents ----------------------------------------------------------------------------------

async def trigger(h: Harness, svc: Service, *keys: str, severity: str = "critical") -> list[str]:
    """Events that open one incident per key, processed in one batch; their incident ids in order."""
    for key in keys:
        r = await h.send({"routing_key": svc.routing_key, "event_action": "trigger", "dedup_key": key,
                          "payload": {"summary": f"{key} down", "source": "web-1", "severity": severity}})
        assert r.status_code == 202, r.text
    assert await h.process() == len(keys)
    ids = []
    for key in keys:
        r = await h.client.get("/incidents", headers=h.auth, params={"incident_key": key, "date_range": "all"})
        [found] = r.json()["incidents"]
        ids.append(found["id"])
    return ids


async def create(h: Harness, svc: Service, **fields: Any) -> dict[str, Any]:
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": "Database down", "service": {"id": svc.id, "type": "service_reference"},
        **fields}})
    assert r.status_code == 201, r.text
    return dict(r.json()["incident"])


async def put(h: Harness, incident_id: str, **fields: Any) -> dict[str, Any]:
    r = await h.client.put(f"/incidents/{incident_id}", headers=h.writer,
                           json={"incident": {"type": "incident_reference", **fields}})
    assert r.status_code == 200, r.text
    return dict(r.json()["incident"])


async def incident(h: Harness, incident_id: str) -> dict[str, Any]:
    r = await h.client.get(f"/incidents/{incident_id}", headers=h.auth)
    assert r.status_code == 200, r.text
    return dict(r.json()["incident"])


def assignees(body: dict[str, Any]) -> list[str]:
    return [a["assignee"]["id"] for a in body["assignments"]]


# --- what the engine stored -----------------------------------------------------------------

async def timers(h: Harness, incident_id: str) -> dict[str, datetime]:
    async with h.tocsin.db.transaction() as session:
        rows = await session.execute(select(IncidentTimer.kind, IncidentTimer.due_at)
                                     .where(IncidentTimer.incident_id == incident_id))
        return dict(rows.all())


async def escalation(h: Harness, incident_id: str) -> IncidentEscalation:
    async with h.tocsin.db.transaction() as session:
        found = await session.get(IncidentEscalation, incident_id)
        assert found is not None, f"no escalation row for {incident_id}"
        return found


Send = tuple[str, str, str, datetime]  # (user, channel, status, due at)


async def sends(h: Harness, incident_id: str, status: str | None = None) -> list[Send]:
    """The incident's notification rows, by due time then user and channel."""
    async with h.tocsin.db.transaction() as session:
        query = select(Notification.user_id, Notification.channel, Notification.status, Notification.due_at).where(
            Notification.incident_id == incident_id)
        if status is not None:
            query = query.where(Notification.status == status)
        rows = await session.execute(query)
        return sorted(((u, c, s, d) for u, c, s, d in rows), key=lambda r: (r[3], r[0], r[1]))


async def log(h: Harness, incident_id: str) -> list[tuple[str, str, str]]:
    """(type, summary, channel type) of the incident's log entries, oldest first."""
    async with h.tocsin.db.transaction() as session:
        rows = await session.execute(select(LogEntry.type, LogEntry.summary, LogEntry.channel)
                                     .where(LogEntry.incident_id == incident_id)
                                     .order_by(LogEntry.created_at, LogEntry.id))
        return [(t, s, c["type"]) for t, s, c in rows]


# --- action links ---------------------------------------------------------------------------

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def freeze(h: Harness, at: datetime = NOW) -> FrozenClock:
    clock = FrozenClock(at)
    h.tocsin.runtime.clock = clock
    return clock


async def secret_of(h: Harness) -> bytes:
    async with h.tocsin.db.transaction() as session:
        return await session.run_sync(lambda s: link_secret(s, NOW))


async def token(h: Harness, incident_id: str, user_id: str, action: str, *,
                expires_at: datetime | None = None, bundle: str | None = None) -> str:
    expiry = expires_at or h.tocsin.runtime.clock.now() + timedelta(hours=24)
    return sign(await secret_of(h), incident_id=incident_id, user_id=user_id, action=action, expires_at=expiry,
                bundle=bundle)


async def action_path(h: Harness, incident_id: str, user_id: str, action: str, **kwargs: Any) -> str:
    return f"{ACTION_PATH}/{await token(h, incident_id, user_id, action, **kwargs)}"


async def new_user(h: Harness, name: str, role: str = "user") -> str:
    r = await h.client.post("/users", headers=h.writer, json={"user": {
        "type": "user", "name": name, "email": f"{name.lower()}@example.com", "role": role}})
    assert r.status_code == 201, r.text
    return str(r.json()["user"]["id"])


async def new_incident(h: Harness, title: str = "Disk full on db-1") -> dict[str, Any]:
    r = await h.client.post("/incidents", headers=h.writer, json={"incident": {
        "type": "incident", "title": title, "service": {"id": h.seed.service_id, "type": "service_reference"}}})
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()["incident"]
    return incident


async def log_entries(h: Harness, incident_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    r = await h.client.get(f"/incidents/{incident_id}/log_entries", headers=h.auth)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["log_entries"]))
