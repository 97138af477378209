"""``tocsin api METHOD PATH``: the raw escape hatch — any REST call with the profile's
credentials, the answer printed as JSON, errors and exit codes as every other command's."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli import options
from tocsin.cli.session import handled, open_cli, usage

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def query_pairs(values: list[str] | None) -> dict[str, Any]:
    """``-q key=value`` pairs; a repeated key (``-q statuses[]=a -q statuses[]=b``) becomes a list."""
    params: dict[str, Any] = {}
    for pair in values or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise usage(f"-q {pair!r} is not key=value")
        if key in params:
            previous = params[key]
            params[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            params[key] = value
    return params


def body(data: str | None) -> Any:
    if data is None:
        return None
    if data == "-":
        text = sys.stdin.read()
    elif data.startswith("@"):
        text = Path(data[1:]).read_text(encoding="utf-8")
    else:
        text = data
    try:
        return json.loads(text)
    except ValueError as exc:
        raise usage(f"--data is not JSON: {exc}") from None


@handled
def api(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, DELETE or PATCH.")],
    path: Annotated[str, typer.Argument(help="e.g. /incidents, /users/me, /oncalls.")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="JSON body, @file.json, or - for stdin.",
                                             show_default=False)] = None,
    query: Annotated[list[str] | None, typer.Option("--query", "-q", help="A query parameter key=value "
                                                    "(repeatable).", show_default=False)] = None,
    every: Annotated[bool, typer.Option("--all", help="GET every page (offset or cursor) and print the items.")]
    = False,
    profile: options.ProfileName = None,
) -> None:
    """Call the REST API directly and print the JSON answer."""
    verb = method.upper()
    if verb not in METHODS:
        raise usage(f"method must be one of {', '.join(METHODS)}")
    if not path.startswith("/"):
        path = "/" + path
    cli = open_cli(profile, True)
    params = query_pairs(query)
    if every:
        if verb != "GET":
            raise usage("--all follows pages of a GET")
        first = cli.rest.get(path, params)
        key = path.rstrip("/").rsplit("/", 1)[-1]
        if isinstance(first, dict) and "next_cursor" in first:
            cli.out.json(list(cli.rest.iter_cursor(path, key, params)))
        elif isinstance(first, dict) and "more" in first:
            cli.out.json(list(cli.rest.iter_offset(path, key, params)))
        else:
            cli.out.json(first)
        return
    answer = cli.rest.request(verb, path, params=params, json=body(data))
    if answer is not None:
        cli.out.json(answer)
