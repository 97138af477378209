"""Which incidents a ``tocsin incident`` command acts on, and how they are listed.

A command names its incidents by id (arguments, or stdin with ``--pipe``) or by filters
(``Filters``: the ``--status``, ``--urgency``, ``--service`` ... options every command takes),
listed and confirmed first (``targets``); ``fetch`` is ``GET /incidents`` with those filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Annotated, Any

import typer

from tocsin.cli import bulk, exits, lookup
from tocsin.cli.output import Column, choose, local_time
from tocsin.cli.session import Cli, confirm, read_stdin_ids, usage

OPEN = ("triggered", "acknowledged")
STATUS_WORDS = {"triggered": ("triggered",), "acknowledged": ("acknowledged",), "resolved": ("resolved",),
                "open": OPEN, "all": ()}
DEFAULT_COLUMNS = ("number", "id", "status", "urgency", "title", "service", "assigned", "created")


def columns(zone: tzinfo) -> list[Column]:
    return [
        Column("id", "ID", lambda i: i["id"]),
        Column("number", "#", lambda i: i.get("incident_number")),
        Column("status", "Status", lambda i: i.get("status")),
        Column("urgency", "Urgency", lambda i: i.get("urgency")),
        Column("title", "Title", lambda i: i.get("title") or i.get("summary")),
        Column("service", "Service", lambda i: i.get("service")),
        Column("assigned", "Assigned", lambda i: [a.get("assignee") for a in i.get("assignments") or []]),
        Column("acknowledged_by", "Acknowledged by",
               lambda i: [a.get("acknowledger") for a in i.get("acknowledgements") or []]),
        Column("created", "Created", lambda i: local_time(i.get("created_at"), zone)),
        Column("changed", "Last change", lambda i: local_time(i.get("last_status_change_at"), zone)),
        Column("key", "Dedup key", lambda i: i.get("incident_key")),
        Column("priority", "Priority", lambda i: i.get("priority")),
        Column("policy", "Escalation policy", lambda i: i.get("escalation_policy")),
        Column("url", "URL", lambda i: i.get("html_url")),
    ]


Statuses = Annotated[list[str] | None, typer.Option(
    "--status", "-s", help="triggered, acknowledged, resolved, open (the first two) or all; repeatable.",
    show_default=False)]
Urgencies = Annotated[list[str] | None, typer.Option("--urgency", "-u", help="high or low; repeatable.",
                                                     show_default=False)]
Services = Annotated[list[str] | None, typer.Option("--service", help="Service name or id; repeatable.",
                                                    show_default=False)]
Teams = Annotated[list[str] | None, typer.Option("--team", help="Team name or id; repeatable.", show_default=False)]
Users = Annotated[list[str] | None, typer.Option(
    "--user", help="Assigned to this user (email, name, id or me); repeatable.", show_default=False)]
Me = Annotated[bool, typer.Option("--me", help="Assigned to me (the token's user, or the profile's From email).")]
Since = Annotated[str | None, typer.Option(
    "--since", help="Created since: yesterday, 2h ago, monday, 2024-03-04 ... (default: any time).",
    show_default=False)]
Until = Annotated[str | None, typer.Option("--until", help="Created before this time.", show_default=False)]
Every = Annotated[bool, typer.Option("--all", help="Act on every incident the filters match (even with none).")]


@dataclass(frozen=True)
class Filters:
    statuses: Sequence[str] = ()
    urgencies: Sequence[str] = ()
    services: Sequence[str] = ()
    teams: Sequence[str] = ()
    users: Sequence[str] = ()
    me: bool = False
    since: str | None = None
    until: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.statuses or self.urgencies or self.services or self.teams or self.users or self.me
                    or self.since or self.until)

    def params(self, cli: Cli, default_statuses: Sequence[str]) -> dict[str, Any]:
        statuses: list[str] = []
        for word in self.statuses or default_statuses:
            if word not in STATUS_WORDS:
                raise usage(f"unknown status {word!r}; choose from {', '.join(STATUS_WORDS)}")
            statuses += STATUS_WORDS[word]
        for urgency in self.urgencies:
            if urgency not in ("high", "low"):
                raise usage(f"unknown urgency {urgency!r}; choose high or low")
        users = [lookup.user(cli, u)["id"] for u in self.users]
        if self.me:
            users.append(lookup.me(cli)["id"])
        params: dict[str, Any] = {
            "statuses[]": list(dict.fromkeys(statuses)),
            "urgencies[]": list(self.urgencies),
            "service_ids[]": [lookup.find_id(cli, "/services", s) for s in self.services],
            "team_ids[]": [lookup.find_id(cli, "/teams", t) for t in self.teams],
            "user_ids[]": list(dict.fromkeys(users)),
            "time_zone": "UTC",
        }
        if self.since or self.until:
            since = cli.time(self.since, bare="past") if self.since else None
            until = cli.time(self.until, bare="past") if self.until else None
            if since and until and since >= until:
                raise usage("--since must be before --until")
            params["since"] = since.isoformat() if since else None  # an until alone: no lower bound
            # No --until: up to now; a --since in the future asks for nothing yet (an empty list).
            params["until"] = until.isoformat() if until else max(cli.now(), since or cli.now()).isoformat()
        else:
            params["date_range"] = "all"
        return params


def fetch(cli: Cli, filters: Filters, default_statuses: Sequence[str], limit: int,
          sort: str | None = None) -> list[dict[str, Any]]:
    params = filters.params(cli, default_statuses)
    if params.get("since") and params["since"] >= params["until"]:
        return []  # a window that has not begun
    # With a limit and no --sort: the newest ``limit`` (read newest first), shown oldest first.
    # Newest by number: incidents opened by one events batch share their created_at, so that
    # order would be arbitrary among them; numbers only grow.
    newest = bool(limit) and not sort
    params["sort_by"] = "incident_number:desc" if newest else sort
    found: list[dict[str, Any]] = []
    for incident in cli.rest.iter_offset("/incidents", "incidents", params,
                                         page_size=min(limit, 100) if limit else 100):
        found.append(incident)
        if limit and len(found) >= limit:
            break
    return found[::-1] if newest else found


def targets(cli: Cli, ids: Sequence[str] | None, pipe: bool, filters: Filters, every: bool,
            default_statuses: Sequence[str], verb: str, yes: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """The incidents a command acts on, and (for filters) what the list showed of them."""
    named = list(ids or [])
    if pipe:
        named += read_stdin_ids()
    if named and (filters.given or every):
        raise usage("name incidents either by id (arguments or --pipe) or by filters, not both")
    if named:
        return list(dict.fromkeys(named)), []
    if pipe:
        cli.out.note("no incident ids on stdin: nothing to do")
        return [], []
    if not (filters.given or every):
        raise usage(f"which incidents? give ids, --pipe, or filters (--me, --service, --urgency ...; --all for "
                    f"every {'/'.join(default_statuses)} one)")
    found = fetch(cli, filters, default_statuses, limit=0)
    if not found:
        cli.out.note("no incident matches")
        return [], []
    if not yes:  # show what would be acted on (stderr: stdout is for the result)
        shown = choose(columns(cli.zone), None, ("number", "id", "status", "urgency", "title", "service"))
        cli.out.table(found[:20], shown, to_stderr=True)
        if len(found) > 20:
            cli.out.note(f"... and {len(found) - 20} more")
    confirm(cli.out, f"{verb} {len(found)} incident{'s' if len(found) != 1 else ''}?", yes)
    return [i["id"] for i in found], found


def finish(cli: Cli, outcomes: Sequence[bulk.Outcome], pipe: bool) -> None:
    if not bulk.show(cli.out, outcomes, pipe):
        raise typer.Exit(exits.API_ERROR)
