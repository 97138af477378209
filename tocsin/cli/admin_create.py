"""``tocsin admin <resource> create``, written per resource (its options). Every ``create`` also
takes ``--data JSON`` (or ``@file``) with the API's own body, for fields the options do not
cover; options given beside it win. ``tocsin.cli.admin`` registers each under its resource's
app (``CREATORS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from tocsin.cli import lookup, options
from tocsin.cli.admin_resources import (
    API_KEY,
    OAUTH_CLIENT,
    POLICY,
    SERVICE,
    TEAM,
    USER,
    WEBHOOK,
    WEBHOOK_EVENTS,
    Data,
    Resource,
    created,
    data_option,
)
from tocsin.cli.session import Cli, open_cli, usage

# resource command (service, policy ...) -> its create command, in the order written below
CREATORS: dict[str, Callable[..., None]] = {}


def _creates(resource: Resource) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def record(func: Callable[..., None]) -> Callable[..., None]:
        func.__doc__ = func.__doc__ or f"Create a {resource.title}."
        CREATORS[resource.command] = func
        return func

    return record


@_creates(SERVICE)
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


@_creates(POLICY)
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


@_creates(USER)
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


@_creates(TEAM)
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


@_creates(API_KEY)
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


@_creates(OAUTH_CLIENT)
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


@_creates(WEBHOOK)
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
