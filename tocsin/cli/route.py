"""``tocsin route test``: who an event would page, through which level and channel, without
sending anything. Fetches what ``routing.plan`` needs through the REST API (so it works against
PagerDuty too) and prints the route it works out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from tocsin.cli import options
from tocsin.cli.output import local_time
from tocsin.cli.routing import describe, find_integration, plan, window_minutes
from tocsin.cli.session import Cli, handled, not_found, open_cli, usage
from tocsin.cli.times import zone_label
from tocsin.client.events import SEVERITIES

app = typer.Typer(help="Where events go: `tocsin route test` shows who an event would page.", no_args_is_help=True)


def gather(cli: Cli, routing_key: str, severity: str, at: datetime, dedup_key: str | None) -> Any:
    services = list(cli.rest.iter_offset("/services", "services", {"include[]": ["integrations"]}))
    found = find_integration(services, routing_key)
    if found is None:
        raise not_found("no service has an integration with this routing key",
                        "a routing key is an integration's integration_key: tocsin service show NAME lists them")
    service, integration = found
    policy_ref = service.get("escalation_policy") or {}
    policy = (cli.rest.get(f"/escalation_policies/{policy_ref['id']}")["escalation_policy"]
              if policy_ref.get("id") else None)
    oncalls: list[dict[str, Any]] = []
    if policy is not None:
        until = at + timedelta(minutes=window_minutes(policy) + 1)
        oncalls = list(cli.rest.iter_offset("/oncalls", "oncalls", {
            "escalation_policy_ids[]": [policy["id"]], "since": at.isoformat(), "until": until.isoformat(),
            "time_zone": "UTC"}))
    user_ids = list(dict.fromkeys(str((o.get("user") or {}).get("id")) for o in oncalls))
    users = {uid: cli.rest.get(f"/users/{uid}", {"include[]": ["contact_methods", "notification_rules"]})["user"]
             for uid in user_ids}
    recent = at >= cli.now() - timedelta(minutes=1)
    windows = list(cli.rest.iter_offset("/maintenance_windows", "maintenance_windows", {
        "service_ids[]": [service["id"]], "filter": "open" if recent else "all"}))
    open_incident = None
    if dedup_key:
        matching = cli.rest.get("/incidents", {"incident_key": dedup_key, "service_ids[]": [service["id"]],
                                               "statuses[]": ["triggered", "acknowledged"], "date_range": "all"})
        open_incident = next(iter(matching.get("incidents") or []), None)
    return plan(at, severity, service, integration, policy, oncalls, users, windows, open_incident)


@app.command("test")
@handled
def route_test(
    routing_key: Annotated[str, typer.Option("--routing-key", "-k", envvar="TOCSIN_ROUTING_KEY",
                                             help="The integration key the event would be sent with.")],
    summary: Annotated[str, typer.Option("--summary", "-s", help="The event's summary (shown, not routed on).")]
    = "route test",
    severity: Annotated[str, typer.Option("--severity", help="critical, error, warning or info.")] = "critical",
    dedup_key: Annotated[str | None, typer.Option("--dedup-key", help="Check whether an open alert already has "
                                                  "this key.", show_default=False)] = None,
    at: Annotated[str | None, typer.Option("--at", help="When the event would arrive (default: now): "
                                           "tomorrow 03:00, in 2h, 2024-03-04T10:00 ...", show_default=False)] = None,
    as_json: options.Json = False, profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """Who a trigger would page, through which level and channel. Nothing is sent."""
    cli = open_cli(profile, as_json, tz)
    if severity not in SEVERITIES:
        raise usage(f"--severity must be one of {', '.join(SEVERITIES)}")
    if len(summary) > 1024:
        raise usage("--summary is longer than 1024 characters (the Events API would refuse it)")
    when = cli.time(at, bare="future") if at else cli.now()
    route = gather(cli, routing_key, severity, when, dedup_key)
    if as_json:
        cli.out.json({"summary": summary, **route.json()})
        return
    cli.out.lines(describe(route, lambda t: f"{local_time(t.isoformat(), cli.zone)} ({zone_label(cli.zone, t)})"))
