"""``tocsin export`` and ``tocsin apply``: the account's configuration as a YAML document that can
live in git, and applying one (plan first, then create / update / delete per object).

The work is ``tocsin.config_as_code``; this module reads files, shows plans and outcomes, and
turns failures into messages and exit codes as every command does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli import exits, options
from tocsin.cli.plans import show_outcomes, show_plan
from tocsin.cli.session import Cli, Failure, confirm, handled, open_cli
from tocsin.config_as_code import from_api, reader, yamlio
from tocsin.config_as_code.applier import Applier
from tocsin.config_as_code.document import BY_NAME, Document, DocumentError
from tocsin.config_as_code.plan import plan
from tocsin.config_as_code.source import Note


def read_account(cli: Cli) -> tuple[Document, list[Note]]:
    """The profile's account as a document (with ids), a progress bar while it is read."""
    with cli.out.progress(len(reader.PARTS), "Reading the configuration") as advance:
        seen: list[str] = []

        def step(part: str) -> None:
            if seen:
                advance(1)
            seen.append(part)

        source = reader.read(cli.rest, cli.now(), step)
        advance(1)
    return from_api.document(source)


def _sections(only: list[str] | None) -> set[str] | None:
    if not only:
        return None
    unknown = [s for s in only if s not in BY_NAME]
    if unknown:
        raise Failure(f"unknown section(s) {', '.join(unknown)}", exits.USAGE, f"choose from: {', '.join(BY_NAME)}")
    return set(only)


Only = Annotated[list[str] | None, typer.Option(
    "--only", help="Only this section (repeatable): users, teams, schedules, escalation_policies, services, "
                   "webhook_subscriptions, forwarders, chat_webhooks, maintenance_windows.", show_default=False)]


@handled
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.",
                                                show_default=False)] = None,
    only: Only = None,
    profile: options.ProfileName = None,
) -> None:
    """Print the whole configuration (users, teams, schedules, escalation policies, services with
    their integrations, webhook subscriptions, forwarders, chat webhooks, open maintenance windows)
    as YAML: `tocsin export > tocsin.yaml`. Objects refer to each other by name, so the file can
    live in git; secrets are never written: {env: NAME} names the variable `apply` reads."""
    cli = open_cli(profile)
    document, notes = read_account(cli)
    wanted = _sections(only)
    if wanted is not None:
        document = {k: v for k, v in document.items() if k == "version" or k in wanted}
    text = yamlio.dump(document)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="utf-8")
        cli.out.note(f"Wrote {output}")
    for note in notes:
        cli.out.note(f"not exported: {note.kind} {note.name}: {note.reason}")


def load_file(path: str) -> Document:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise Failure(f"cannot read {path}: {exc.strerror or exc}", exits.USAGE) from None
    try:
        return yamlio.load(text)
    except DocumentError as exc:
        raise Failure(f"{path} is not a usable configuration document", exits.USAGE,
                      "fix the places listed (tocsin export shows the expected shape)",
                      tuple(exc.problems)) from None


@handled
def apply(
    file: Annotated[str, typer.Argument(help="The YAML document (tocsin export's shape); - reads stdin.")],
    plan_only: Annotated[bool, typer.Option("--plan", help="Show what would change and change nothing.")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Also delete objects of the document's sections that it does not list (asks first "
                        "unless --yes). Without it nothing is ever deleted.")] = False,
    yes: options.Yes = False,
    as_json: options.Json = False,
    profile: options.ProfileName = None,
) -> None:
    """Apply a configuration document: show the plan (create / update / delete per object, each
    changed field old -> new), then carry it out. Applying the same file again changes nothing.
    Fields and sections the file leaves out are left alone; a sub-list it writes (a user's contact
    methods, a team's members, a service's integrations) is made to match."""
    cli = open_cli(profile, as_json)
    desired = load_file(file)
    current, _ = read_account(cli)
    now = cli.now()
    result = plan(desired, current, prune=prune, now=now)
    if plan_only:
        if as_json:
            cli.out.json({"plan": result.json()})
        else:
            show_plan(cli.out, result, to_stdout=True)
        return
    if result.empty:
        if as_json:
            cli.out.json({"plan": result.json(), "outcomes": []})
        else:
            cli.out.note(f"Nothing to change ({result.unchanged} unchanged).")
        return
    if not as_json:
        show_plan(cli.out, result, to_stdout=False)
    if result.count("delete"):
        confirm(cli.out, f"Delete {result.count('delete')} object(s) as planned above?", yes)
    with cli.out.progress(len(result.changes), "Applying") as advance:
        outcomes = Applier(cli.rest, current, now=now).apply(result.changes, advance)
    if as_json:
        cli.out.json({"plan": result.json(), "outcomes": [o.json() for o in outcomes]})
    else:
        show_outcomes(cli.out, outcomes)
    failed = sum(1 for o in outcomes if not o.ok)
    if failed:
        cli.out.note(f"{failed} of {len(outcomes)} failed")
        raise typer.Exit(exits.API_ERROR)
