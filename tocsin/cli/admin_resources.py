"""The resources ``tocsin admin`` manages, each described once (``Resource``: its path, its
answers' keys, its columns), and what the commands over them share: finding one by name or id,
the ``--data`` body, the "Created ..." line. ``tocsin.cli.admin`` builds ``list``, ``show`` and
``delete`` from a description; ``tocsin.cli.admin_create`` writes ``create`` per resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer

from tocsin.cli import lookup
from tocsin.cli.lookup import KINDS
from tocsin.cli.output import Column
from tocsin.cli.session import Cli, json_object_option, usage


@dataclass(frozen=True)
class Resource:
    command: str  # the CLI's word: tocsin <command> list
    path: str
    key: str  # the list's key in answers
    one: str  # the object's key in answers
    title: str  # what people call one
    columns: tuple[Column, ...]
    default: tuple[str, ...]
    query: bool = True  # the list takes ?query=

    @property
    def plural(self) -> str:
        return self.title[:-1] + "ies" if self.title.endswith("y") else self.title + "s"


COMMON = (Column("id", "ID", lambda x: x["id"]), Column("name", "Name", lambda x: x.get("name") or x.get("summary")),
          Column("description", "Description", lambda x: x.get("description")))

SERVICE = Resource("service", "/services", "services", "service", "service", (
    *COMMON,
    Column("status", "Status", lambda s: s.get("status")),
    Column("policy", "Escalation policy", lambda s: s.get("escalation_policy")),
    Column("teams", "Teams", lambda s: s.get("teams")),
    Column("urgency", "Urgency rule", lambda s: (s.get("incident_urgency_rule") or {}).get("urgency")
           or (s.get("incident_urgency_rule") or {}).get("type")),
    Column("auto_resolve", "Auto-resolve (s)", lambda s: s.get("auto_resolve_timeout")),
    Column("ack_timeout", "Ack timeout (s)", lambda s: s.get("acknowledgement_timeout")),
), ("id", "name", "status", "policy", "teams"))
POLICY = Resource("policy", "/escalation_policies", "escalation_policies", "escalation_policy", "escalation policy", (
    *COMMON,
    Column("levels", "Levels", lambda p: len(p.get("escalation_rules") or [])),
    Column("loops", "Loops", lambda p: p.get("num_loops")),
    Column("services", "Services", lambda p: p.get("services")),
    Column("teams", "Teams", lambda p: p.get("teams")),
), ("id", "name", "levels", "services"))
USER = Resource("user", "/users", "users", "user", "user", (
    *COMMON,
    Column("email", "Email", lambda u: u.get("email")),
    Column("role", "Role", lambda u: u.get("role")),
    Column("time_zone", "Time zone", lambda u: u.get("time_zone")),
    Column("teams", "Teams", lambda u: u.get("teams")),
), ("id", "name", "email", "role", "teams"))
TEAM = Resource("team", "/teams", "teams", "team", "team", COMMON, ("id", "name", "description"))
API_KEY = Resource("api-key", "/api_keys", "api_keys", "api_key", "API key", (
    Column("id", "ID", lambda k: k["id"]),
    Column("kind", "Kind", lambda k: k.get("key_type")),
    Column("read_only", "Read-only", lambda k: k.get("read_only")),
    Column("user", "User", lambda k: k.get("user")),
    Column("ends", "Ends with", lambda k: f"…{k['truncated_token']}" if k.get("truncated_token") else ""),
    Column("description", "Description", lambda k: k.get("description")),
    Column("revoked", "Revoked", lambda k: k.get("revoked_at")),
), ("id", "kind", "read_only", "user", "ends", "description", "revoked"), query=False)
OAUTH_CLIENT = Resource("oauth-client", "/oauth_clients", "oauth_clients", "oauth_client", "OAuth client", (
    Column("id", "Client id", lambda c: c["id"]),
    Column("name", "Name", lambda c: c.get("name")),
    Column("scopes", "Scopes", lambda c: " ".join(c.get("scopes") or [])),
    Column("revoked", "Revoked", lambda c: c.get("revoked_at")),
), ("id", "name", "scopes", "revoked"), query=False)
WEBHOOK = Resource("webhook", "/webhook_subscriptions", "webhook_subscriptions", "webhook_subscription",
                   "webhook subscription", (
    Column("id", "ID", lambda w: w["id"]),
    Column("url", "URL", lambda w: (w.get("delivery_method") or {}).get("url")),
    Column("events", "Events", lambda w: w.get("events")),
    Column("filter", "Filter", lambda w: _filter_text(w.get("filter") or {})),
    Column("active", "Active", lambda w: w.get("active")),
    Column("description", "Description", lambda w: w.get("description")),
), ("id", "url", "events", "filter", "active"), query=False)

RESOURCES = (SERVICE, POLICY, USER, TEAM, API_KEY, OAUTH_CLIENT, WEBHOOK)
WEBHOOK_EVENTS = ("incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.resolved",
                  "incident.reopened", "incident.escalated", "incident.reassigned", "incident.delegated",
                  "incident.annotated", "incident.priority_updated")


def _filter_text(value: dict[str, Any]) -> str:
    kind = str(value.get("type", "")).removesuffix("_reference")
    return f"{kind} {value.get('id')}" if value.get("id") else kind


def find(cli: Cli, resource: Resource, text: str) -> dict[str, Any]:
    """By name or id where the API can search; by id otherwise."""
    if resource.path in KINDS:
        return lookup.find(cli, resource.path, text)
    return dict(cli.rest.get(f"{resource.path}/{text}")[resource.one])


def data_option(raw: str | None, one: str) -> dict[str, Any]:
    """``--data``: the API's body for one object, wrapped (``{"service": {...}}``) or not."""
    if not raw:
        return {}
    parsed = json_object_option(raw, "--data")
    inner = parsed.get(one, parsed)
    if not isinstance(inner, dict):
        raise usage(f"--data's {one!r} must be an object")
    return dict(inner)


def created(cli: Cli, resource: Resource, answer: Any, extra: list[str] | None = None) -> None:
    item = (answer or {}).get(resource.one, answer) if isinstance(answer, dict) else answer
    if cli.out.as_json:
        cli.out.json(item)
        return
    name = item.get("name") or item.get("summary") or item.get("description") or ""
    cli.out.lines([f"Created {resource.title} {item.get('id')}" + (f" ({name})" if name else ""), *(extra or [])])


Data = Annotated[str | None, typer.Option("--data", help="The API's JSON body for the object (or @file.json).",
                                          show_default=False)]


