"""``tocsin incident``: what responders do from a terminal.

Every command names its incidents the same three ways: ids as arguments, ids on stdin with
``--pipe`` (so ``tocsin incident list --me --pipe | tocsin incident ack --pipe`` chains), or
filters (``--me``, ``--service``, ``--urgency`` ... or ``--all``) that are listed and confirmed
first (``--yes`` skips the question).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Annotated, Any

import typer

from tocsin.cli import bulk, lookup, options
from tocsin.cli.incident_selection import (
    DEFAULT_COLUMNS,
    OPEN,
    Every,
    Filters,
    Me,
    Services,
    Since,
    Statuses,
    Teams,
    Until,
    Urgencies,
    Users,
    columns,
    fetch,
    finish,
    targets,
)
from tocsin.cli.output import choose, local_time, text
from tocsin.cli.session import handled, open_cli, read_stdin_ids, usage
from tocsin.cli.times import parse_duration
from tocsin.client import ApiError

app = typer.Typer(help="Incidents: list, show, ack, resolve, note, reassign, snooze, merge.", no_args_is_help=True)
LIST_LIMIT = 100


# --- list, show ------------------------------------------------------------------------------


@app.command("list")
@handled
def list_incidents(
    status: Statuses = None, urgency: Urgencies = None, service: Services = None, team: Teams = None,
    user: Users = None, me: Me = False, since: Since = None, until: Until = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many (0: all).")] = LIST_LIMIT,
    sort: Annotated[str | None, typer.Option("--sort", help="e.g. created_at:desc, urgency, incident_number.",
                                             show_default=False)] = None,
    columns_: options.Columns = None, pipe: options.Pipe = False, as_json: options.Json = False,
    profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """List incidents (open ones unless --status says otherwise): the newest --limit, oldest first."""
    cli = open_cli(profile, as_json, tz)
    shown = choose(columns(cli.zone), columns_, DEFAULT_COLUMNS) if not (as_json or pipe) else []
    filters = Filters(status or (), urgency or (), service or (), team or (), user or (), me, since, until)
    cli.out.listing(fetch(cli, filters, OPEN, limit, sort), shown, pipe)


@app.command("show")
@handled
def show(
    incident_id: Annotated[str, typer.Argument(help="The incident's id.")],
    as_json: options.Json = False, profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """One incident and its timeline (its log entries, oldest first)."""
    cli = open_cli(profile, as_json, tz)
    incident = cli.rest.get(f"/incidents/{incident_id}", {"time_zone": "UTC"})["incident"]
    entries = list(cli.rest.iter_offset(f"/incidents/{incident_id}/log_entries", "log_entries",
                                        {"is_overview": False, "time_zone": "UTC"}))
    timeline = chronological(entries)
    if as_json:
        cli.out.json({"incident": incident, "log_entries": timeline})
        return
    counts = incident.get("alert_counts") or {}
    cli.out.record([
        ("Incident", f"#{incident.get('incident_number')} {incident['id']}"),
        ("Title", incident.get("title") or incident.get("summary")),
        ("Status", incident.get("status")),
        ("Urgency", incident.get("urgency")),
        ("Priority", incident.get("priority")),
        ("Service", incident.get("service")),
        ("Policy", incident.get("escalation_policy")),
        ("Assigned", [a.get("assignee") for a in incident.get("assignments") or []]),
        ("Created", local_time(incident.get("created_at"), cli.zone)),
        ("Dedup key", incident.get("incident_key")),
        ("Alerts", f"{counts.get('all', 0)} ({counts.get('triggered', 0)} open)" if counts else ""),
        ("Pending", [f"{p.get('type')} at {local_time(p.get('at'), cli.zone)}"
                     for p in incident.get("pending_actions") or []]),
        ("URL", incident.get("html_url")),
    ])
    cli.out.lines(["", "Timeline:"])
    cli.out.lines(timeline_lines(timeline, cli.zone))


FIRST = {"trigger_log_entry": 0, "assign_log_entry": 1}  # within one second (the wire's precision)
LAST = {"resolve_log_entry": 1}


def chronological(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Log entries oldest first. The API lists them newest first to the second, so entries of one
    second keep the reverse of its order, with a trigger (and its assignment) first and a
    resolution last, as they happened."""
    def when(entry: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(str(entry.get("created_at") or "1970-01-01T00:00:00Z").replace("Z", "+00:00"))

    ordered = list(reversed(entries))
    return sorted(ordered, key=lambda e: (when(e), LAST.get(str(e.get("type")), 0),
                                          FIRST.get(str(e.get("type")), 2)))


def timeline_lines(entries: Sequence[dict[str, Any]], zone: tzinfo) -> list[str]:
    """One line per log entry: when, what kind, what it says, through which channel."""
    lines = []
    for entry in entries:
        kind = str(entry.get("type", "")).removesuffix("_log_entry").replace("_", " ")
        channel = (entry.get("channel") or {}).get("type")
        by = text(entry.get("agent"))
        extra = ", ".join(p for p in (f"by {by}" if by else "", f"via {channel}" if channel else "") if p)
        lines.append(f"  {local_time(entry.get('created_at'), zone):16}  {kind:<24} {entry.get('summary') or ''}"
                     + (f"  ({extra})" if extra else ""))
    return lines


# --- actions ---------------------------------------------------------------------------------

Ids = Annotated[list[str] | None, typer.Argument(help="Incident ids (or --pipe, or filters).", show_default=False)]


@app.command("ack")
@handled
def acknowledge(
    ids: Ids = None, pipe: options.PipeIn = False, status: Statuses = None, urgency: Urgencies = None,
    service: Services = None, team: Teams = None, user: Users = None, me: Me = False, since: Since = None,
    until: Until = None, every: Every = False, yes: options.Yes = False, as_json: options.Json = False,
    profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """Acknowledge incidents (by filter: triggered ones). Resolved incidents are skipped, not reopened."""
    cli = open_cli(profile, as_json, tz)
    filters = Filters(status or (), urgency or (), service or (), team or (), user or (), me, since, until)
    chosen, listed = targets(cli, ids, pipe, filters, every, ("triggered",), "Acknowledge", yes)
    if not chosen:
        return
    skipped: list[bulk.Outcome] = []
    if not listed:  # named by id: do not reopen a resolved one (the API would)
        states = bulk.each(cli, chosen, lambda i: cli.rest.get(f"/incidents/{i}")["incident"], "", "Checking")
        skipped = [bulk.Outcome(o.id, False, o.message) for o in states if not o.ok]
        skipped += [bulk.Outcome(o.id, True, "already resolved: left alone", o.incident)
                    for o in states if o.ok and (o.incident or {}).get("status") == "resolved"]
        chosen = [o.id for o in states if o.ok and (o.incident or {}).get("status") != "resolved"]
    outcomes = bulk.update(cli, chosen, {"status": "acknowledged"}, "acknowledged", "Acknowledging")
    finish(cli, [*outcomes, *skipped], pipe)


def _already_resolved(error: ApiError) -> str | None:
    return "already resolved" if error.code == 1001 else None


@app.command("resolve")
@handled
def resolve(
    ids: Ids = None, pipe: options.PipeIn = False,
    resolution: Annotated[str | None, typer.Option("--resolution", "-m", help="Why (kept as a note).",
                                                   show_default=False)] = None,
    status: Statuses = None, urgency: Urgencies = None, service: Services = None, team: Teams = None,
    user: Users = None, me: Me = False, since: Since = None, until: Until = None, every: Every = False,
    yes: options.Yes = False, as_json: options.Json = False, profile: options.ProfileName = None,
    tz: options.Zone = None,
) -> None:
    """Resolve incidents (by filter: open ones)."""
    cli = open_cli(profile, as_json, tz)
    filters = Filters(status or (), urgency or (), service or (), team or (), user or (), me, since, until)
    chosen, _ = targets(cli, ids, pipe, filters, every, OPEN, "Resolve", yes)
    if not chosen:
        return
    change: dict[str, Any] = {"status": "resolved"}
    if resolution:
        change["resolution"] = resolution
    finish(cli, bulk.update(cli, chosen, change, "resolved", "Resolving", _already_resolved), pipe)


@app.command("reassign")
@handled
def reassign(
    ids: Ids = None, pipe: options.PipeIn = False,
    to: Annotated[list[str] | None, typer.Option("--to", help="Assign to this user (email, name, id, me); "
                                                 "repeatable.", show_default=False)] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Hand over to this escalation policy.",
                                               show_default=False)] = None,
    level: Annotated[int | None, typer.Option("--level", help="Escalate to this level of the policy.",
                                              show_default=False)] = None,
    status: Statuses = None, urgency: Urgencies = None, service: Services = None, team: Teams = None,
    user: Users = None, me: Me = False, since: Since = None, until: Until = None, every: Every = False,
    yes: options.Yes = False, as_json: options.Json = False, profile: options.ProfileName = None,
    tz: options.Zone = None,
) -> None:
    """Reassign incidents to users (--to), another escalation policy (--policy), or a level (--level)."""
    cli = open_cli(profile, as_json, tz)
    if not (to or policy or level):
        raise usage("say where to: --to USER, --policy POLICY or --level N")
    if to and policy:
        raise usage("--to and --policy exclude each other")
    change: dict[str, Any] = {}
    if to:
        change["assignments"] = [{"assignee": lookup.reference("user", lookup.user(cli, u))} for u in to]
    if policy:
        change["escalation_policy"] = lookup.reference("escalation_policy",
                                                       lookup.find(cli, "/escalation_policies", policy))
    if level:
        change["escalation_level"] = level
    filters = Filters(status or (), urgency or (), service or (), team or (), user or (), me, since, until)
    chosen, _ = targets(cli, ids, pipe, filters, every, OPEN, "Reassign", yes)
    if chosen:
        finish(cli, bulk.update(cli, chosen, change, "reassigned", "Reassigning"), pipe)


@app.command("snooze")
@handled
def snooze(
    ids: Ids = None, pipe: options.PipeIn = False,
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d ...")] = "1h",
    status: Statuses = None, urgency: Urgencies = None, service: Services = None, team: Teams = None,
    user: Users = None, me: Me = False, since: Since = None, until: Until = None, every: Every = False,
    yes: options.Yes = False, as_json: options.Json = False, profile: options.ProfileName = None,
    tz: options.Zone = None,
) -> None:
    """Snooze acknowledged incidents: they return to triggered (and page again) when it ends."""
    cli = open_cli(profile, as_json, tz)
    seconds = int(parse_duration(for_).total_seconds())
    if seconds <= 0:
        raise usage("--for must be a positive duration")
    filters = Filters(status or (), urgency or (), service or (), team or (), user or (), me, since, until)
    chosen, _ = targets(cli, ids, pipe, filters, every, ("acknowledged",), "Snooze", yes)
    if chosen:
        outcomes = bulk.each(cli, chosen, lambda i: cli.rest.post(f"/incidents/{i}/snooze",
                                                                   {"duration": seconds}).get("incident"),
                             f"snoozed for {for_}", "Snoozing")
        finish(cli, outcomes, pipe)


@app.command("note")
@handled
def note(
    ids: Ids = None, pipe: options.PipeIn = False,
    message: Annotated[str, typer.Option("--message", "-m", help="The note's text.")] = "",
    as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Add a note to incidents."""
    cli = open_cli(profile, as_json)
    if not message.strip():
        raise usage("a note needs text: --message TEXT")
    chosen = list(dict.fromkeys([*(ids or []), *(read_stdin_ids() if pipe else [])]))
    if not chosen:
        raise usage("which incidents? give ids or --pipe")
    outcomes = bulk.each(cli, chosen, lambda i: cli.rest.post(f"/incidents/{i}/notes",
                                                               {"note": {"content": message}}).get("note"),
                         "noted", "Adding notes")
    finish(cli, [bulk.Outcome(o.id, o.ok, o.message, None) for o in outcomes], pipe)


@app.command("merge")
@handled
def merge(
    target: Annotated[str, typer.Argument(help="The incident the others are merged into.")],
    sources: Annotated[list[str] | None, typer.Argument(help="Incidents to merge into it (or --pipe).",
                                                        show_default=False)] = None,
    pipe: options.PipeIn = False, as_json: options.Json = False, profile: options.ProfileName = None,
) -> None:
    """Merge incidents into TARGET: their alerts move to it and they are resolved."""
    cli = open_cli(profile, as_json)
    chosen = [s for s in dict.fromkeys([*(sources or []), *(read_stdin_ids() if pipe else [])]) if s != target]
    if not chosen:
        raise usage("name the incidents to merge into the target (arguments or --pipe)")
    answer = cli.rest.put(f"/incidents/{target}/merge",
                          {"source_incidents": [{"id": s, "type": "incident_reference"} for s in chosen]})
    if as_json:
        cli.out.json(answer)
    elif pipe:
        cli.out.ids([target])
    else:
        cli.out.lines([f"Merged {len(chosen)} incident{'s' if len(chosen) != 1 else ''} into {target}"])
