"""A service's forwarders and chat webhooks (Tocsin extensions): ``tocsin forwarder`` and
``tocsin chat-webhook`` with list, create, delete, test and enable; and ``tocsin webhook enable``
and ``ping`` beside the webhook subscriptions' list, show, create and delete (``admin``).

Both kinds have the same routes under ``/services/{id}/forwarders|chat_webhooks``, so one function
makes their commands (``_relay_app``); only ``create`` differs. A secret (a forwarder's integration
key, a chat webhook's URL, which holds the channel's token) can come from an environment variable
rather than the command line (``TOCSIN_FORWARDER_INTEGRATION_KEY``, ``TOCSIN_CHAT_WEBHOOK_URL``),
so it stays out of shell history; the API never shows it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer

from tocsin.cli import lookup, options
from tocsin.cli.output import Column, choose
from tocsin.cli.session import Cli, confirm, handled, not_found, open_cli


@dataclass(frozen=True)
class _Kind:
    command: str  # tocsin <command> ...
    collection: str  # /services/{id}/<collection>
    one: str  # the object's key in answers
    title: str


FORWARDER = _Kind("forwarder", "forwarders", "forwarder", "forwarder")
CHAT = _Kind("chat-webhook", "chat_webhooks", "chat_webhook", "chat webhook")

COLUMNS = (
    Column("id", "ID", lambda r: r["id"]),
    Column("description", "Description", lambda r: r.get("description")),
    Column("url", "URL", lambda r: r.get("url")),
    Column("events", "Events", lambda r: r.get("events")),
    Column("urgencies", "Urgencies", lambda r: r.get("urgencies") or "all"),
    Column("active", "Active", lambda r: r.get("active")),
    Column("disabled", "Disabled for failing", lambda r: r.get("disabled_reason") or r.get("temporarily_disabled")),
    Column("acting_user", "Acting user", lambda r: (r.get("acting_user") or {}).get("id")),
)
DEFAULT = ("id", "description", "url", "events", "urgencies", "active", "disabled")

Service = Annotated[str, typer.Argument(help="The service (name or id).")]
Which = Annotated[str, typer.Argument(help="Its id, or its description.")]
Description = Annotated[str | None, typer.Option("--description", help="What it is for (config-as-code names it "
                                                 "by its service and description).", show_default=False)]
Events = Annotated[list[str] | None, typer.Option(
    "--event", help="trigger, acknowledge, resolve (chat also escalate); repeatable; default: all.",
    show_default=False)]
Urgencies = Annotated[list[str] | None, typer.Option(
    "--urgency", help="Only incidents of this urgency (high, low; repeatable); default: every urgency.",
    show_default=False)]
Inactive = Annotated[bool, typer.Option("--inactive", help="Create it turned off.")]


def _base(cli: Cli, kind: _Kind, service: str) -> str:
    return f"/services/{lookup.find_id(cli, '/services', service)}/{kind.collection}"


def _find(cli: Cli, kind: _Kind, base: str, which: str) -> dict[str, Any]:
    found = list(cli.rest.get(base)[kind.collection])
    matches = [r for r in found if r["id"] == which] or \
        [r for r in found if str(r.get("description") or "").casefold() == which.casefold()]
    if len(matches) != 1:
        more = "several are" if matches else "none is"
        raise not_found(f"{more} named {which!r} among the service's {kind.title}s",
                        f"tocsin {kind.command} list SERVICE shows them")
    return dict(matches[0])


def _create(cli: Cli, kind: _Kind, service: str, body: dict[str, Any], events: list[str] | None,
            urgencies: list[str] | None, inactive: bool, description: str | None) -> None:
    body = {"type": kind.one, **body, "active": not inactive}
    for key, value in (("description", description), ("events", events), ("urgencies", urgencies)):
        if value:
            body[key] = value
    made = cli.rest.post(_base(cli, kind, service), {kind.one: body})[kind.one]
    if cli.out.as_json:
        cli.out.json(made)
    else:
        cli.out.lines([f"Created {kind.title} {made['id']}" + (f" ({description})" if description else "")])


def _relay_app(kind: _Kind) -> typer.Typer:
    app = typer.Typer(help=f"A service's {kind.title}s: list, create, delete, test, enable (through the REST API).",
                      no_args_is_help=True)

    @app.command("list")
    @handled
    def list_(service: Service, columns_: options.Columns = None, pipe: options.Pipe = False,
              as_json: options.Json = False, profile: options.ProfileName = None) -> None:
        cli = open_cli(profile, as_json)
        found = cli.rest.get(_base(cli, kind, service))[kind.collection]
        if as_json:
            cli.out.json(found)
        elif pipe:
            cli.out.ids(r["id"] for r in found)
        else:
            cli.out.table(found, choose(COLUMNS, columns_, DEFAULT))

    @app.command("delete")
    @handled
    def delete(service: Service, which: Which, yes: options.Yes = False,
               profile: options.ProfileName = None) -> None:
        cli = open_cli(profile)
        base = _base(cli, kind, service)
        found = _find(cli, kind, base, which)
        label = f" ({found['description']})" if found.get("description") else ""
        confirm(cli.out, f"Delete {kind.title} {found['id']}{label}? Its queued deliveries are dropped.", yes)
        cli.rest.delete(f"{base}/{found['id']}")
        cli.out.note(f"Deleted {kind.title} {found['id']}")

    @app.command("test")
    @handled
    def test(service: Service, which: Which, as_json: options.Json = False,
             profile: options.ProfileName = None) -> None:
        """Send a [Test message] trigger, then its resolve (queued; see the deliveries with `tocsin api`)."""
        cli = open_cli(profile, as_json)
        base = _base(cli, kind, service)
        found = _find(cli, kind, base, which)
        queued = cli.rest.post(f"{base}/{found['id']}/test")
        if as_json:
            cli.out.json(queued)
        else:
            cli.out.lines([f"Queued test deliveries {', '.join(d['id'] for d in queued.get('deliveries') or [])}",
                           f"(GET {base}/{found['id']}/deliveries shows how they went)"])

    @app.command("enable")
    @handled
    def enable(service: Service, which: Which, profile: options.ProfileName = None) -> None:
        """Resume one switched off for failing (its failure count starts afresh)."""
        cli = open_cli(profile)
        base = _base(cli, kind, service)
        found = _find(cli, kind, base, which)
        cli.rest.post(f"{base}/{found['id']}/enable")
        cli.out.note(f"Enabled {kind.title} {found['id']}")

    list_.__doc__ = f"List a service's {kind.title}s."
    delete.__doc__ = f"Delete a {kind.title} (asks first; --yes does not)."
    return app


APPS = {FORWARDER.command: _relay_app(FORWARDER), CHAT.command: _relay_app(CHAT)}


@APPS[FORWARDER.command].command("create")
@handled
def create_forwarder(
    service: Service,
    integration_key: Annotated[str, typer.Option(
        "--integration-key", envvar="TOCSIN_FORWARDER_INTEGRATION_KEY", show_envvar=True,
        help="The upstream service's integration (routing) key.")],
    url: Annotated[str | None, typer.Option("--url", help="The upstream Events API v2; default PagerDuty's.",
                                            show_default=False)] = None,
    description: Description = None, event: Events = None, urgency: Urgencies = None, inactive: Inactive = False,
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Forward the service's incidents to an upstream PagerDuty-compatible Events API v2."""
    cli = open_cli(profile, as_json)
    body: dict[str, Any] = {"integration_key": integration_key}
    if url:
        body["url"] = url
    _create(cli, FORWARDER, service, body, event, urgency, inactive, description)


@APPS[CHAT.command].command("create")
@handled
def create_chat_webhook(
    service: Service,
    url: Annotated[str, typer.Option("--url", envvar="TOCSIN_CHAT_WEBHOOK_URL", show_envvar=True,
                                     help="The Slack-compatible incoming webhook URL (it holds a token).")],
    acting_user: Annotated[str | None, typer.Option(
        "--acting-user", help="Who the message's acknowledge/resolve links act as (email, name, id, me); "
                              "default: no such links.", show_default=False)] = None,
    description: Description = None, event: Events = None, urgency: Urgencies = None, inactive: Inactive = False,
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Post the service's incidents to a chat incoming webhook (Slack, Mattermost, Rocket.Chat)."""
    cli = open_cli(profile, as_json)
    body: dict[str, Any] = {"url": url}
    if acting_user:
        body["acting_user_id"] = lookup.user(cli, acting_user)["id"]
    _create(cli, CHAT, service, body, event, urgency, inactive, description)


def register_webhook_commands(app: typer.Typer) -> None:
    """``enable`` and ``ping`` on ``tocsin webhook`` (the subscriptions' other commands are admin's)."""

    @app.command("enable")
    @handled
    def enable(subscription: Annotated[str, typer.Argument(help="The subscription's id.")],
               profile: options.ProfileName = None) -> None:
        """Resume a subscription switched off for failing (its failure count starts afresh)."""
        cli = open_cli(profile)
        cli.rest.post(f"/webhook_subscriptions/{subscription}/enable")
        cli.out.note(f"Enabled webhook subscription {subscription}")

    @app.command("ping")
    @handled
    def ping(subscription: Annotated[str, typer.Argument(help="The subscription's id.")],
             profile: options.ProfileName = None) -> None:
        """Send a pagey.ping event to the subscription's URL (queued at once)."""
        cli = open_cli(profile)
        answer = cli.rest.post(f"/webhook_subscriptions/{subscription}/ping")
        delivery = (answer or {}).get("webhook_delivery") or {}  # PagerDuty answers 202 with no body
        cli.out.lines([f"Queued ping {delivery.get('id') or ''}".rstrip()])
