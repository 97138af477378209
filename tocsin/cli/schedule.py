"""``tocsin schedule``: list schedules, draw one as a timeline in the terminal, and manage its
overrides. The drawing is ``timeline.draw`` (pure) over what ``GET /schedules/{id}`` renders."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Annotated, Any

import typer

from tocsin.cli import lookup, options
from tocsin.cli.output import Column, choose, local_time
from tocsin.cli.session import handled, open_cli, usage
from tocsin.cli.timeline import Shift, draw
from tocsin.cli.times import parse_duration, zone_label

app = typer.Typer(help="Schedules: list, show (drawn as a timeline), overrides.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="The schedule's name or id.")]
MAX_DAYS = 90  # PagerDuty renders at most three months at once


@app.command("list")
@handled
def list_schedules(
    query: Annotated[str | None, typer.Option("--query", "-q", help="Names containing this.", show_default=False)]
    = None,
    columns_: options.Columns = None, pipe: options.Pipe = False, as_json: options.Json = False,
    profile: options.ProfileName = None,
) -> None:
    """List schedules."""
    cli = open_cli(profile, as_json)
    found = list(cli.rest.iter_offset("/schedules", "schedules", {"query": query}))
    available = [Column("id", "ID", lambda s: s["id"]), Column("name", "Name", lambda s: s.get("name")),
                 Column("time_zone", "Time zone", lambda s: s.get("time_zone")),
                 Column("users", "Users", lambda s: s.get("users")),
                 Column("description", "Description", lambda s: s.get("description"))]
    # --columns is checked only where a table is drawn
    shown = choose(available, columns_, ("id", "name", "time_zone", "users")) if not (as_json or pipe) else []
    cli.out.listing(found, shown, pipe)


def shifts(entries: list[dict[str, Any]] | None) -> list[Shift]:
    """Rendered schedule entries (``{start, end, user}``) -> shifts."""
    found = []
    for entry in entries or []:
        user = entry.get("user") or {}
        found.append(Shift(_stamp(entry["start"]), _stamp(entry["end"]), str(user.get("id") or "?"),
                           str(user.get("summary") or user.get("name") or user.get("id") or "?")))
    return found


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_midnight(instant: datetime, zone: tzinfo, days: int = 0) -> datetime:
    return datetime.combine(instant.astimezone(zone).date() + timedelta(days=days), time(0), tzinfo=zone)


@app.command("show")
@handled
def show(
    name: Name,
    days: Annotated[int, typer.Option("--days", "-d", help=f"How many days to draw (1 to {MAX_DAYS}).")] = 14,
    since: Annotated[str | None, typer.Option("--since", help="First day (default: today).", show_default=False)]
    = None,
    cell: Annotated[int, typer.Option("--cell", help="Minutes per character: 10, 15, 20, 30 or 60.")] = 30,
    as_json: options.Json = False, profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """Draw who is on call, day by day, with gaps and overrides (in your time zone, or --tz)."""
    cli = open_cli(profile, as_json, tz)
    if not 1 <= days <= MAX_DAYS:
        raise usage(f"--days must be between 1 and {MAX_DAYS}")
    if cell <= 0 or 60 % cell:
        raise usage("--cell must divide an hour: 10, 15, 20, 30 or 60")
    start = local_midnight(cli.time(since) if since else cli.now(), cli.zone)
    end = local_midnight(start, cli.zone, days)
    schedule_id = lookup.find_id(cli, "/schedules", name)
    schedule = cli.rest.get(f"/schedules/{schedule_id}", {"since": start.isoformat(), "until": end.isoformat(),
                                                          "time_zone": "UTC"})["schedule"]
    if as_json:
        cli.out.json(schedule)
        return
    final = shifts((schedule.get("final_schedule") or {}).get("rendered_schedule_entries"))
    overrides = shifts((schedule.get("overrides_subschedule") or {}).get("rendered_schedule_entries"))
    title = f"Schedule {schedule.get('name')!r} ({schedule['id']})"
    cli.out.lines(draw(final, overrides, start, end, cli.zone, cell_minutes=cell, title=title,
                       zone_name=zone_label(cli.zone, start)))


@app.command("overrides")
@handled
def list_overrides(
    name: Name,
    since: Annotated[str, typer.Option("--since", help="From (default: now).")] = "now",
    until: Annotated[str, typer.Option("--until", help="Until (default: in 14 days).")] = "in 14d",
    as_json: options.Json = False, pipe: options.Pipe = False, profile: options.ProfileName = None,
    tz: options.Zone = None,
) -> None:
    """List a schedule's overrides in a window."""
    cli = open_cli(profile, as_json, tz)
    schedule_id = lookup.find_id(cli, "/schedules", name)
    found = cli.rest.get(f"/schedules/{schedule_id}/overrides", {
        "since": cli.time(since, bare="past").isoformat(), "until": cli.time(until, bare="future").isoformat(),
        "time_zone": "UTC"})["overrides"]
    cli.out.listing(found, [Column("id", "ID", lambda o: o["id"]), Column("user", "Who", lambda o: o.get("user")),
                            Column("start", "From", lambda o: local_time(o.get("start"), cli.zone)),
                            Column("end", "Until", lambda o: local_time(o.get("end"), cli.zone))], pipe)


@app.command("override")
@handled
def override(
    name: Name,
    user: Annotated[str, typer.Option("--user", help="Who takes over (email, name, id or me).")],
    start: Annotated[str, typer.Option("--start", help="From: now, 18:00, tomorrow 09:00, 2024-03-04T09:00 ...")]
    = "now",
    end: Annotated[str | None, typer.Option("--end", help="Until (or --for).", show_default=False)] = None,
    for_: Annotated[str | None, typer.Option("--for", help="How long: 2h, 1d ...", show_default=False)] = None,
    as_json: options.Json = False, profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """Put USER on call in a schedule for a while (an override beats every layer)."""
    cli = open_cli(profile, as_json, tz)
    if (end is None) == (for_ is None):
        raise usage("say until when: --end TIME or --for DURATION (one of them)")
    begins = cli.time(start, bare="future")
    ends = cli.time(end, bare="future") if end else begins + parse_duration(for_ or "")
    if ends <= begins:
        raise usage("the override must end after it starts")
    schedule_id = lookup.find_id(cli, "/schedules", name)
    person = lookup.user(cli, user)
    answer = cli.rest.post(f"/schedules/{schedule_id}/overrides", {"override": {
        "start": begins.isoformat(), "end": ends.isoformat(), "user": lookup.reference("user", person)}})
    created = answer.get("override", answer)
    if as_json:
        cli.out.json(created)
        return
    cli.out.lines([(f"Override {created.get('id')}: {person.get('name') or person.get('email')} on call "
                   f"{local_time(created.get('start'), cli.zone)} to {local_time(created.get('end'), cli.zone)}")])


@app.command("override-delete")
@handled
def delete_override(
    name: Name, override_id: Annotated[str, typer.Argument(help="The override's id (tocsin schedule overrides).")],
    profile: options.ProfileName = None,
) -> None:
    """Delete an override (one under way is cut short now)."""
    cli = open_cli(profile)
    schedule_id = lookup.find_id(cli, "/schedules", name)
    cli.rest.delete(f"/schedules/{schedule_id}/overrides/{override_id}")
    cli.out.note(f"Deleted override {override_id}")
