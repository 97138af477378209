"""What rendering incidents, alerts and log entries needs beyond the rows themselves.

``tocsin.incidents.queries`` loads it in bulk (``fill_context``, ``fill_log_context``) and
``tocsin.incidents.wire`` renders with it; it sits below both, so reads never import the wire
layer above them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.http.refs import iso, reference
from tocsin.incidents.models import LogEntry, Priority


@dataclass
class Context:
    """The request's rendering choices (base URL, time zone, include[]) and the facts about
    other resources the rows name, loaded in bulk by ``tocsin.incidents.queries.fill_context``."""

    base: str
    tz: ZoneInfo | None = None
    includes: frozenset[str] = frozenset()
    now: datetime | None = None
    service_names: dict[str, str] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> facts, for include[]=services
    users: dict[str, Any] = field(default_factory=dict)  # id -> tocsin.users.queries.UserFacts
    policy_names: dict[str, str] = field(default_factory=dict)
    policy_teams: dict[str, list[str]] = field(default_factory=dict)
    team_names: dict[str, str] = field(default_factory=dict)
    priorities: dict[str, Priority] = field(default_factory=dict)
    first_trigger: dict[str, str] = field(default_factory=dict)  # incident id -> log entry id
    first_trigger_entries: dict[str, LogEntry] = field(default_factory=dict)  # when included
    alert_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # incident id -> [(timer kind, due at)]: the engine's incident timers, shown as pending_actions
    timers: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)

    @property
    def user_names(self) -> dict[str, str]:
        return {uid: facts.name for uid, facts in self.users.items()}

    def time(self, value: Any) -> str | None:
        return iso(value, self.tz)

    def wants(self, *names: str) -> bool:
        return any(n in self.includes for n in names)

    def service_ref(self, service_id: str) -> dict[str, Any]:
        ref = reference(self.base, "service", service_id, self.service_names.get(service_id, service_id))
        facts = self.services.get(service_id)
        if self.wants("services") and facts is not None:
            ref.update(type="service", name=facts["name"], description=facts["description"],
                       status=facts["status"], auto_resolve_timeout=facts["auto_resolve_timeout"],
                       acknowledgement_timeout=facts["acknowledgement_timeout"],
                       escalation_policy=self.policy_ref(facts["escalation_policy_id"], expand=False),
                       teams=[], integrations=[])
        return ref

    def user_ref(self, user_id: str, expand: bool = False) -> dict[str, Any]:
        facts = self.users.get(user_id)
        ref = reference(self.base, "user", user_id, facts.name if facts else user_id)
        if expand and facts is not None:
            ref.update(type="user", name=facts.name, email=facts.email, time_zone=facts.time_zone,
                       role=facts.role, teams=[], contact_methods=[], notification_rules=[])
            if facts.color:
                ref["color"] = facts.color
        return ref

    def policy_ref(self, policy_id: str | None, expand: bool | None = None) -> dict[str, Any] | None:
        if not policy_id:
            return None
        name = self.policy_names.get(policy_id, policy_id)
        ref = reference(self.base, "escalation_policy", policy_id, name)
        if (self.wants("escalation_policies") if expand is None else expand) and policy_id in self.policy_names:
            # Rules belong to the escalation domain; the expansion carries its name and teams.
            ref.update(type="escalation_policy", name=name, escalation_rules=[],
                       teams=self.team_refs(self.policy_teams.get(policy_id, []), expand=False))
        return ref

    def team_refs(self, team_ids: list[str], expand: bool | None = None) -> list[dict[str, Any]]:
        refs = []
        for team_id in team_ids:
            name = self.team_names.get(team_id, team_id)
            ref = reference(self.base, "team", team_id, name)
            if self.wants("teams") if expand is None else expand:
                ref.update(type="team", name=name)
            refs.append(ref)
        return refs

    def agent_ref(self, agent: dict[str, Any] | None, expand: bool = False) -> dict[str, Any] | None:
        if not agent:
            return None
        kind = agent["type"].removesuffix("_reference")
        if kind == "user":
            return self.user_ref(agent["id"], expand)
        if kind == "service":
            return self.service_ref(agent["id"])
        return {"id": agent["id"], "type": agent["type"], "summary": kind.replace("_", " ").title(),
                "self": None, "html_url": None}
