"""Options every REST command shares, declared once (Typer reads them from the signatures)."""

from __future__ import annotations

from typing import Annotated

import typer

Json = Annotated[bool, typer.Option("--json", help="Print JSON (the API's objects) instead of a table.")]
ProfileName = Annotated[str | None, typer.Option(
    "--profile", "-P", help="The profile to use (tocsin login --profile NAME); default: the file's default.",
    show_default=False)]
Zone = Annotated[str | None, typer.Option(
    "--tz", help="Show and read times in this zone (e.g. Europe/Berlin); default: the terminal's.",
    show_default=False)]
Columns = Annotated[str | None, typer.Option(
    "--columns", help="Table columns, comma-separated, in order (--columns help lists them).", show_default=False)]
Pipe = Annotated[bool, typer.Option(
    "--pipe", help="Print only ids, one a line (to pipe into another command).")]
PipeIn = Annotated[bool, typer.Option(
    "--pipe", help="Read incident ids from stdin (one a line, e.g. from `tocsin incident list --pipe`); print "
                   "the ids acted on.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
