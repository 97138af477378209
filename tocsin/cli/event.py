"""``tocsin event``: send Events API v2 events from cron jobs and scripts (a drop-in for the
usual ``pd-send`` style helpers). ``trigger`` prints the dedup key on stdout, so a script can
keep it for the later ``resolve``. No API token is needed: the routing key is the credential.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any

import typer

from tocsin.cli import options
from tocsin.cli.session import Cli, handled, json_object_option, open_cli, usage
from tocsin.client.events import SEVERITIES, alert_event, change_event

app = typer.Typer(help="Send events: trigger, ack, resolve (alerts) and change events.", no_args_is_help=True)

RoutingKey = Annotated[str, typer.Option("--routing-key", "-k", envvar="TOCSIN_ROUTING_KEY",
                                         help="The integration key (32 characters).")]
Details = Annotated[list[str] | None, typer.Option(
    "--detail", "-d", help="A custom detail as key=value (repeatable; the value is kept as text).",
    show_default=False)]
DetailsJson = Annotated[str | None, typer.Option(
    "--details", help="Custom details as a JSON object, or @file.json.", show_default=False)]
Links = Annotated[list[str] | None, typer.Option(
    "--link", help="A link: URL or 'text=URL' (repeatable).", show_default=False)]
Timestamp = Annotated[str | None, typer.Option(
    "--timestamp", help="When it happened (default: when received): now, 5m ago, 2024-03-04T10:00 ...",
    show_default=False)]


def custom_details(pairs: list[str] | None, as_json: str | None) -> dict[str, Any]:
    """``key=value`` pairs over a JSON object (pairs win); a usage error names a bad one."""
    details: dict[str, Any] = {}
    if as_json:
        details.update(json_object_option(as_json, "--details"))
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise usage(f"--detail {pair!r} is not key=value")
        details[key.strip()] = value
    return details


def links(values: list[str] | None) -> list[dict[str, str]]:
    """A bare URL (which may hold ``=`` itself), or ``text=URL``."""
    found = []
    for value in values or []:
        if value.startswith(("http://", "https://")) or "=" not in value:
            found.append({"href": value})
        else:
            text, _, href = value.partition("=")
            found.append({"href": href, "text": text})
    return found


def _sent(cli: Cli, answer: dict[str, Any], key: str | None) -> None:
    if cli.out.as_json:
        cli.out.json(answer)
        return
    dedup = answer.get("dedup_key") or key
    if dedup:
        cli.out.lines([str(dedup)])
    cli.out.note(str(answer.get("message") or "Event accepted"))


def _timestamp(cli: Cli, value: str | None) -> str | None:
    return cli.time(value, bare="past").isoformat() if value else None


@app.command("trigger")
@handled
def trigger(
    routing_key: RoutingKey,
    summary: Annotated[str, typer.Option("--summary", "-s", help="What is wrong (at most 1024 characters).")],
    severity: Annotated[str, typer.Option("--severity", help="critical, error, warning or info.")] = "error",
    source: Annotated[str | None, typer.Option("--source", help="Where (default: this host's name).",
                                               show_default=False)] = None,
    dedup_key: Annotated[str | None, typer.Option("--dedup-key", help="Groups repeats into one alert (default: "
                                                  "a new key, printed).", show_default=False)] = None,
    component: Annotated[str | None, typer.Option("--component", show_default=False)] = None,
    group: Annotated[str | None, typer.Option("--group", show_default=False)] = None,
    event_class: Annotated[str | None, typer.Option("--class", show_default=False)] = None,
    detail: Details = None, details: DetailsJson = None, link: Links = None, timestamp: Timestamp = None,
    client: Annotated[str | None, typer.Option("--client", help="The monitoring tool's name.",
                                               show_default=False)] = None,
    client_url: Annotated[str | None, typer.Option("--client-url", show_default=False)] = None,
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Trigger an alert (opens an incident, or adds to the open one with the same dedup key)."""
    cli = open_cli(profile, as_json)
    if severity not in SEVERITIES:
        raise usage(f"--severity must be one of {', '.join(SEVERITIES)}")
    body = alert_event(routing_key, "trigger", dedup_key=dedup_key, summary=summary,
                       source=source or socket.gethostname(), severity=severity,
                       timestamp=_timestamp(cli, timestamp), component=component, group=group,
                       event_class=event_class, custom_details=custom_details(detail, details), links=links(link),
                       client=client, client_url=client_url)
    _sent(cli, cli.events.enqueue(body), dedup_key)


def _follow_up(action: str, routing_key: str, dedup_key: str, as_json: bool, profile: str | None) -> None:
    cli = open_cli(profile, as_json)
    body = alert_event(routing_key, "acknowledge" if action == "ack" else "resolve", dedup_key=dedup_key)
    _sent(cli, cli.events.enqueue(body), dedup_key)


DedupKey = Annotated[str, typer.Option("--dedup-key", help="The key the trigger used (or printed).")]


@app.command("ack")
@handled
def acknowledge(routing_key: RoutingKey, dedup_key: DedupKey, as_json: options.Json = False,
                profile: options.ProfileName = None) -> None:
    """Acknowledge the open alert with this dedup key."""
    _follow_up("ack", routing_key, dedup_key, as_json, profile)


@app.command("resolve")
@handled
def resolve(routing_key: RoutingKey, dedup_key: DedupKey, as_json: options.Json = False,
            profile: options.ProfileName = None) -> None:
    """Resolve the open alert with this dedup key."""
    _follow_up("resolve", routing_key, dedup_key, as_json, profile)


@app.command("change")
@handled
def change(
    routing_key: RoutingKey,
    summary: Annotated[str, typer.Option("--summary", "-s", help="What changed (a deploy, a config push).")],
    source: Annotated[str | None, typer.Option("--source", help="Where (default: this host's name).",
                                               show_default=False)] = None,
    detail: Details = None, details: DetailsJson = None, link: Links = None, timestamp: Timestamp = None,
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Send a change event (pages nobody; shown beside incidents)."""
    cli = open_cli(profile, as_json)
    body = change_event(routing_key, summary, source=source or socket.gethostname(),
                        timestamp=_timestamp(cli, timestamp), custom_details=custom_details(detail, details),
                        links=links(link))
    answer = cli.events.change(body)
    if as_json:
        cli.out.json(answer)
    else:
        cli.out.note(str(answer.get("message") or "Change event accepted"))
