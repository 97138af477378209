"""Administration through the REST API: services, escalation policies, users, teams, API keys,
OAuth clients and webhook subscriptions — list, show, create, delete.

Each resource is described once (``Resource``: its path, its columns); ``list``, ``show`` and
``delete`` are made from that description, ``create`` is written per resource (its options). Every
``create`` also takes ``--data JSON`` (or ``@file``) with the API's own body, for fields the
options do not cover; options given beside it win.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli import lookup, options
from tocsin.cli.lookup import KINDS
from tocsin.cli.output import Column, Output, choose, local_time
from tocsin.cli.session import Cli, confirm, handled, open_cli, usage


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
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise usage(f"--data is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise usage("--data must be a JSON object")
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


def build(resource: Resource) -> typer.Typer:
    """``list``, ``show`` and ``delete`` for a resource."""
    app = typer.Typer(help=f"{resource.plural[0].upper()}{resource.plural[1:]}: list, show, create, delete "
                           "(through the REST API).", no_args_is_help=True)

    @app.command("list")
    @handled
    def list_(
        query: Annotated[str | None, typer.Option("--query", "-q", help="Names containing this.",
                                                  show_default=False)] = None,
        columns_: options.Columns = None, pipe: options.Pipe = False, as_json: options.Json = False,
        profile: options.ProfileName = None,
    ) -> None:
        cli = open_cli(profile, as_json)
        shown = choose(resource.columns, columns_, resource.default) if not (as_json or pipe) else []
        if query and not resource.query:
            raise usage(f"{resource.plural} cannot be searched; list them all")
        found = list(cli.rest.iter_offset(resource.path, resource.key, {"query": query}))
        if as_json:
            cli.out.json(found)
        elif pipe:
            cli.out.ids(i["id"] for i in found)
        else:
            cli.out.table(found, shown)

    list_.__doc__ = f"List {resource.plural}."

    @app.command("show")
    @handled
    def show(
        name: Annotated[str, typer.Argument(help="Name or id.")], as_json: options.Json = False,
        profile: options.ProfileName = None, tz: options.Zone = None,
    ) -> None:
        cli = open_cli(profile, as_json, tz)
        item = find(cli, resource, name)
        if resource is SERVICE:  # the routing keys are what an operator comes for
            item = cli.rest.get(f"/services/{item['id']}", {"include[]": ["integrations"]})["service"]
        if as_json:
            cli.out.json(item)
            return
        cli.out.record(describe(item, cli))
        if resource is SERVICE:
            show_integrations(cli.out, item)
        if resource is POLICY:
            show_levels(cli.out, item)

    show.__doc__ = f"Show one {resource.title}."

    @app.command("delete")
    @handled
    def delete(
        name: Annotated[str, typer.Argument(help="Name or id.")], yes: options.Yes = False,
        profile: options.ProfileName = None,
    ) -> None:
        cli = open_cli(profile)
        item = find(cli, resource, name)
        label = item.get("name") or item.get("summary") or item.get("description") or ""
        confirm(cli.out, f"Delete {resource.title} {item['id']}{f' ({label})' if label else ''}?", yes)
        cli.rest.delete(f"{resource.path}/{item['id']}")
        cli.out.note(f"Deleted {resource.title} {item['id']}")

    delete.__doc__ = f"Delete a {resource.title} (asks first; --yes does not)."
    return app


def describe(item: dict[str, Any], cli: Cli) -> list[tuple[str, Any]]:
    """The object's plain fields, references by name, lists of references by names, times local."""
    pairs: list[tuple[str, Any]] = []
    for key, value in item.items():
        if key in ("self", "html_url", "type", "summary", "escalation_rules", "integrations", "token",
                   "client_secret") or value in (None, "", [], {}):
            continue
        if key.endswith(("_at", "_time")) and isinstance(value, str):
            value = local_time(value, cli.zone)
        elif isinstance(value, dict) and not ("summary" in value or "name" in value or "id" in value):
            value = json.dumps(value, ensure_ascii=False)
        pairs.append((key.replace("_", " "), value))
    return pairs


def show_integrations(out: Output, service: dict[str, Any]) -> None:
    integrations = [i for i in service.get("integrations") or [] if isinstance(i, dict)]
    if not integrations:
        return
    out.lines(["", "Integrations:"])
    out.table(integrations, [Column("id", "ID", lambda i: i["id"]),
                             Column("name", "Name", lambda i: i.get("name") or i.get("summary")),
                             Column("type", "Type", lambda i: i.get("type")),
                             Column("key", "Routing key", lambda i: i.get("integration_key"))])


def show_levels(out: Output, policy: dict[str, Any]) -> None:
    out.lines(["", "Levels:"])
    for number, rule in enumerate(policy.get("escalation_rules") or [], start=1):
        targets = ", ".join(f"{str(t.get('type', '')).removesuffix('_reference')} {t.get('summary') or t.get('id')}"
                            for t in rule.get("targets") or [])
        out.lines([f"  {number}. {targets}  (escalates after {rule.get('escalation_delay_in_minutes')} min)"])


APPS: dict[str, typer.Typer] = {resource.command: build(resource) for resource in RESOURCES}


def _create(resource: Resource) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(func: Callable[..., None]) -> Callable[..., None]:
        func.__doc__ = func.__doc__ or f"Create a {resource.title}."
        APPS[resource.command].command("create")(handled(func))
        return func

    return register


# --- create, per resource ---------------------------------------------------------------------


@_create(SERVICE)
def create_service(
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Escalation policy (name or id).",
                                               show_default=False)] = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False)] = None,
    urgency: Annotated[str | None, typer.Option("--urgency", help="high, low or severity_based.",
                                                show_default=False)] = None,
    auto_resolve: Annotated[int | None, typer.Option("--auto-resolve", help="Seconds; 0 turns it off.",
                                                     show_default=False)] = None,
    ack_timeout: Annotated[int | None, typer.Option("--ack-timeout", help="Seconds; 0 turns it off.",
                                                    show_default=False)] = None,
    integration: Annotated[str | None, typer.Option("--integration", help="Also add an Events API v2 integration "
                                                    "with this name (its routing key is printed).",
                                                    show_default=False)] = None,
    data: Data = None, as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create a service (and, with --integration, an Events API v2 integration on it)."""
    cli = open_cli(profile, as_json)
    body = data_option(data, "service")
    for key, value in (("name", name), ("description", description), ("auto_resolve_timeout", auto_resolve),
                       ("acknowledgement_timeout", ack_timeout)):
        if value is not None:
            body[key] = value
    if policy:
        body["escalation_policy"] = lookup.reference("escalation_policy",
                                                     lookup.find(cli, "/escalation_policies", policy))
    if urgency:
        if urgency not in ("high", "low", "severity_based"):
            raise usage("--urgency must be high, low or severity_based")
        body["incident_urgency_rule"] = {"type": "constant", "urgency": urgency}
    if not body.get("name") or not body.get("escalation_policy"):
        raise usage("a service needs --name and --policy")
    service = cli.rest.post("/services", {"service": body})["service"]
    extra = []
    if integration:
        added = cli.rest.post(f"/services/{service['id']}/integrations", {"integration": {
            "name": integration, "type": "events_api_v2_inbound_integration"}})["integration"]
        service.setdefault("integrations", []).append(added)
        extra.append(f"Integration {added['id']} ({integration}): routing key {added.get('integration_key')}")
    created(cli, SERVICE, service, extra)


def _target(cli: Cli, text: str) -> dict[str, str]:
    kind, sep, name = text.partition(":")
    if not sep:
        kind, name = "user", text
    if kind == "user":
        return lookup.reference("user", lookup.user(cli, name))
    if kind == "schedule":
        return lookup.reference("schedule", lookup.find(cli, "/schedules", name))
    raise usage(f"--target {text!r}: say user:WHO or schedule:NAME")


@_create(POLICY)
def create_policy(
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    target: Annotated[list[str] | None, typer.Option(
        "--target", help="Who level 1 pages: user:EMAIL, schedule:NAME (repeatable). More levels: --data.",
        show_default=False)] = None,
    delay: Annotated[int, typer.Option("--delay", help="Minutes before the level escalates.")] = 30,
    loops: Annotated[int | None, typer.Option("--loops", help="Repeat the policy this many times.",
                                              show_default=False)] = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False)] = None,
    data: Data = None, as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create an escalation policy with one level (--target), or any levels (--data)."""
    cli = open_cli(profile, as_json)
    body = data_option(data, "escalation_policy")
    for key, value in (("name", name), ("description", description), ("num_loops", loops)):
        if value is not None:
            body[key] = value
    if target:
        body["escalation_rules"] = [{"escalation_delay_in_minutes": delay,
                                     "targets": [_target(cli, t) for t in target]}]
    if not body.get("name") or not body.get("escalation_rules"):
        raise usage("an escalation policy needs --name and at least one --target")
    created(cli, POLICY, cli.rest.post("/escalation_policies", {"escalation_policy": body}))


@_create(USER)
def create_user(
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    email: Annotated[str | None, typer.Option("--email", show_default=False)] = None,
    role: Annotated[str | None, typer.Option("--role", help="admin, user, limited_user, observer ...",
                                             show_default=False)] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", show_default=False)] = None,
    data: Data = None, as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create a user."""
    cli = open_cli(profile, as_json)
    body = data_option(data, "user")
    for key, value in (("name", name), ("email", email), ("role", role), ("time_zone", time_zone)):
        if value is not None:
            body[key] = value
    if not body.get("name") or not body.get("email"):
        raise usage("a user needs --name and --email")
    created(cli, USER, cli.rest.post("/users", {"user": body}))


@_create(TEAM)
def create_team(
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False)] = None,
    data: Data = None, as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create a team."""
    cli = open_cli(profile, as_json)
    body = data_option(data, "team")
    for key, value in (("name", name), ("description", description)):
        if value is not None:
            body[key] = value
    if not body.get("name"):
        raise usage("a team needs --name")
    created(cli, TEAM, cli.rest.post("/teams", {"team": body}))


@_create(API_KEY)
def create_api_key(
    description: Annotated[str, typer.Option("--description", help="What the key is for.")] = "",
    read_only: Annotated[bool, typer.Option("--read-only", help="Reads only.")] = False,
    user: Annotated[str | None, typer.Option("--user", help="A user key acting as this user (email, name, id, "
                                             "me); default: an account key.", show_default=False)] = None,
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create an API key; its secret is printed once (stdout), never again."""
    cli = open_cli(profile, as_json)
    body: dict[str, Any] = {"type": "user" if user else "account", "read_only": read_only,
                            "description": description}
    if user:
        body["user"] = {"id": lookup.user(cli, user)["id"]}
    key = cli.rest.post("/api_keys", {"api_key": body})["api_key"]
    if as_json:
        cli.out.json(key)
        return
    cli.out.lines([str(key.get("token"))])
    cli.out.note(f"API key {key['id']} ({key.get('key_type')}{', read-only' if key.get('read_only') else ''}): "
                 "the secret above is shown once; only its hash is stored.")


@_create(OAUTH_CLIENT)
def create_oauth_client(
    name: Annotated[str, typer.Option("--name", help="The application's name.")],
    scope: Annotated[list[str], typer.Option("--scope", help="An allowed scope (repeat), e.g. incidents.read.")],
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create an OAuth client (client credentials); its secret is printed once."""
    cli = open_cli(profile, as_json)
    client = cli.rest.post("/oauth_clients", {"oauth_client": {"name": name, "scopes": scope}})["oauth_client"]
    if as_json:
        cli.out.json(client)
        return
    cli.out.lines([f"client_id:     {client.get('client_id') or client.get('id')}",
                   f"client_secret: {client.get('client_secret')}   (shown once; stored hashed)"])


@_create(WEBHOOK)
def create_webhook(
    url: Annotated[str | None, typer.Option("--url", help="Where deliveries go.", show_default=False)] = None,
    event: Annotated[list[str] | None, typer.Option("--event", help="An event type (repeatable; default: the "
                                                    "incident events).", show_default=False)] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only this service's events.",
                                                show_default=False)] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's events.", show_default=False)] = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False)] = None,
    data: Data = None, as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Create a webhook subscription (v3); its signing secret is printed once."""
    cli = open_cli(profile, as_json)
    body = data_option(data, "webhook_subscription")
    body.setdefault("type", "webhook_subscription")
    if url:
        body["delivery_method"] = {"type": "http_delivery_method", "url": url}
    if event or "events" not in body:
        body["events"] = list(event or WEBHOOK_EVENTS)
    if service and team:
        raise usage("--service and --team exclude each other")
    if service:
        body["filter"] = lookup.reference("service", lookup.find(cli, "/services", service))
    elif team:
        body["filter"] = lookup.reference("team", lookup.find(cli, "/teams", team))
    else:
        body.setdefault("filter", {"type": "account_reference"})
    if description is not None:
        body["description"] = description
    if not (body.get("delivery_method") or {}).get("url"):
        raise usage("a webhook subscription needs --url")
    answer = cli.rest.post("/webhook_subscriptions", {"webhook_subscription": body})
    item = answer.get("webhook_subscription", answer)
    secret = (item.get("delivery_method") or {}).get("secret")
    created(cli, WEBHOOK, item, [f"Signing secret: {secret}   (shown once)"] if secret else [])
