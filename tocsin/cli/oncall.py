"""``tocsin oncall``: who is on call now (or ``--at`` a time), per escalation policy and level."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from tocsin.cli import lookup, options
from tocsin.cli.output import Column, choose, local_time
from tocsin.cli.session import Cli, handled, open_cli

DEFAULT_COLUMNS = ("policy", "level", "user", "schedule", "until")


def covering(oncalls: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """The on-calls under way at ``at`` (no start or end: always)."""
    def stamp(value: Any) -> datetime | None:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None

    found = []
    for oncall in oncalls:
        start, end = stamp(oncall.get("start")), stamp(oncall.get("end"))
        if (start is None or start <= at) and (end is None or end > at):
            found.append(oncall)
    return found


def fetch(cli: Cli, at: datetime, policies: list[str], schedules: list[str], users: list[str]) -> list[dict[str, Any]]:
    """``GET /oncalls`` around ``at`` (a one-minute window, which PagerDuty and Tocsin both take),
    kept to what covers ``at``."""
    params: dict[str, Any] = {
        "since": at.isoformat(), "until": (at + timedelta(minutes=1)).isoformat(), "time_zone": "UTC",
        "escalation_policy_ids[]": policies, "schedule_ids[]": schedules, "user_ids[]": users,
    }
    return covering(list(cli.rest.iter_offset("/oncalls", "oncalls", params)), at)


@handled
def oncall(
    schedule: Annotated[list[str] | None, typer.Option("--schedule", help="Only this schedule (name or id); "
                                                       "repeatable.", show_default=False)] = None,
    policy: Annotated[list[str] | None, typer.Option("--policy", help="Only this escalation policy (name or id); "
                                                     "repeatable.", show_default=False)] = None,
    user: Annotated[list[str] | None, typer.Option("--user", help="Only this user (email, name, id, me); "
                                                   "repeatable.", show_default=False)] = None,
    at: Annotated[str | None, typer.Option("--at", help="When: now (default), tomorrow 03:00, in 2h, "
                                           "2024-03-04T10:00 ...", show_default=False)] = None,
    columns_: options.Columns = None, pipe: options.Pipe = False, as_json: options.Json = False,
    profile: options.ProfileName = None, tz: options.Zone = None,
) -> None:
    """Who is on call, per escalation policy and level."""
    cli = open_cli(profile, as_json, tz)
    when = cli.time(at, bare="future") if at else cli.now()
    found = fetch(cli, when, [lookup.find_id(cli, "/escalation_policies", p) for p in policy or []],
                  [lookup.find_id(cli, "/schedules", s) for s in schedule or []],
                  [lookup.user(cli, u)["id"] for u in user or []])
    found.sort(key=lambda o: (str((o.get("escalation_policy") or {}).get("summary")),
                              int(o.get("escalation_level") or 0), str((o.get("user") or {}).get("summary"))))
    if as_json:
        cli.out.json(found)
        return
    if pipe:
        cli.out.ids(dict.fromkeys(str((o.get("user") or {}).get("id")) for o in found))
        return
    available = [
        Column("policy", "Escalation policy", lambda o: o.get("escalation_policy")),
        Column("level", "Level", lambda o: o.get("escalation_level")),
        Column("user", "On call", lambda o: o.get("user")),
        Column("schedule", "Through", lambda o: o.get("schedule") or "directly"),
        Column("since", "Since", lambda o: local_time(o.get("start"), cli.zone) or "always"),
        Column("until", "Until", lambda o: local_time(o.get("end"), cli.zone) or "always"),
    ]
    cli.out.table(found, choose(available, columns_, DEFAULT_COLUMNS))
    if at:
        cli.out.note(f"at {local_time(when.isoformat(), cli.zone)}")
