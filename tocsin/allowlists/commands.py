"""``tocsin allowlist show|add|remove|clear``: the IP allow lists, straight on the database.

The REST API cannot help someone its allow list refuses; these commands can, since they need
only the server's configuration (``TOCSIN_DATABASE_URL``). They go through the same logic as
the API (every rule, every audit record, filed under the command line as actor), minus the
self-lockout check. Running servers pick the change up within ``guard.REFRESH_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

from tocsin.db.command_line import run_in_transaction

if TYPE_CHECKING:  # imported where used, so every other ``tocsin`` command starts fast
    from tocsin.allowlists.models import IpAllowList
app = typer.Typer(help="Show and change the IP allow lists (works offline, on the database).", no_args_is_help=True)
SURFACES = ("rest_api", "events_api")  # tocsin.allowlists.policy.SURFACES (a test holds them equal)
APPLIED = "Running servers apply it within 5 seconds."  # guard.REFRESH_SECONDS (a test holds them equal)


def _not_running(_: Sequence[Mapping[str, Any]]) -> None:
    """No guard in this process: servers re-read the lists on their own."""


def _describe(row: IpAllowList) -> list[str]:
    lines = [f"{row.id}\t{row.state}\t{','.join(row.applies_to)}"]
    lines += [f"  {e['cidr']}" + (f"\t{e['description']}" if e["description"] else "") for e in row.cidr_entries]
    return lines


@app.command("show")
def show() -> None:
    """Print every list: id, state, the surfaces it restricts, then its ranges."""
    from tocsin.allowlists import queries

    rows = run_in_transaction(lambda session, now: queries.all_lists(session))
    if not rows:
        typer.echo("No IP allow list: the REST API and the Events API accept every address.")
    for row in rows:
        typer.echo("\n".join(_describe(row)))


@app.command("add")
def add(
    cidr: str = typer.Argument(..., help="A range (10.0.0.0/8, 2001:db8::/32) or one address."),
    description: str = typer.Option(None, "--description", help="What the range is (at most 64 characters)."),
    list_id: str = typer.Option(None, "--list", help="The list to add to (default: the one restricting the "
                                                     "surfaces given, made if there is none)."),
    applies_to: list[str] = typer.Option(None, "--applies-to", help="A surface (rest_api or events_api; repeat "
                                                                   "for both). Default: rest_api."),
) -> None:
    """Add a range to a list; the list is made, enabled, when none restricts those surfaces."""
    from tocsin.allowlists import logic

    row = run_in_transaction(lambda session, now: logic.add_range(
        session, cidr, description, list_id=list_id, applies_to=applies_to or None, actor=logic.CLI_ACTOR, now=now,
        changed=_not_running))
    typer.echo("\n".join(_describe(row)))
    typer.echo(APPLIED)


@app.command("remove")
def remove(
    cidr: str = typer.Argument(..., help="The range to remove."),
    list_id: str = typer.Option(None, "--list", help="Only from this list (default: from every list)."),
) -> None:
    """Remove a range; a list left with no range is disabled."""
    from tocsin.allowlists import logic

    rows = run_in_transaction(lambda session, now: logic.remove_range(
        session, cidr, list_id=list_id, actor=logic.CLI_ACTOR, now=now, changed=_not_running))
    for row in rows:
        typer.echo("\n".join(_describe(row)))
    typer.echo(APPLIED)


@app.command("clear")
def clear(list_id: str = typer.Option(None, "--list", help="Only this list (default: every list).")) -> None:
    """Delete the lists: every address is admitted again."""
    from tocsin.allowlists import logic

    ids = run_in_transaction(lambda session, now: logic.clear(
        session, list_id=list_id, actor=logic.CLI_ACTOR, now=now, changed=_not_running))
    typer.echo(f"Deleted {', '.join(ids)}." if ids else "There was no IP allow list.")
    typer.echo(APPLIED)
