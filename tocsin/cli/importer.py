"""``tocsin import pagerduty``: read a PagerDuty account through its REST API and create (or, on a
re-run, update) it in the profile's Tocsin. The work is ``tocsin.migrate.pagerduty``; this module
shows the plan, progress and the report of what could not be carried."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli import exits, options
from tocsin.cli.output import Column, Output
from tocsin.cli.plans import show_outcomes, show_plan
from tocsin.cli.session import Cli, Failure, handled, hint_for, open_cli
from tocsin.client import ApiError, Credentials, RestClient
from tocsin.config_as_code import reader
from tocsin.migrate import pagerduty

app = typer.Typer(help="Import an account from another system.", no_args_is_help=True)


def _report_rows(prepared: pagerduty.Prepared, result: pagerduty.Result | None) -> list[dict[str, Any]]:
    rows = [{"kind": n.kind, "name": n.name, "why": n.reason} for n in prepared.notes]
    if result is not None:
        rows += [{"kind": o.change.title, "name": o.change.key, "why": f"FAILED: {o.message}"}
                 for o in result.outcomes if not o.ok]
        rows += [{"kind": o.change.title, "name": o.change.key, "why": note}
                 for o in result.outcomes for note in o.notes]
        rows += [{"kind": e.kind, "name": e.name, "why": f"FAILED: {e.message}"} for e in result.extras if not e.ok]
    return rows


def _show_report(out: Output, rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.note("Everything was carried over.")
        return
    out.table(rows, [Column("kind", "Kind", lambda r: r["kind"]), Column("name", "Name", lambda r: r["name"]),
                     Column("why", "Not carried, or why", lambda r: r["why"])],
              title="Import report: what could not be mapped and why")


def _source_failure(error: ApiError, url: str) -> Failure:
    hint = hint_for(error, "the --token option (or PAGERDUTY_TOKEN)")
    if error.status is None:
        hint = f"is {url} right? (--api-url)"
    where = f" (HTTP {error.status})" if error.status is not None else ""
    return Failure(f"the source account refused: {error.message}{where}", exits.for_status(error.status), hint,
                   error.errors)


def _read(cli: Cli, source: RestClient, days: int) -> pagerduty.Prepared:
    steps = 2 * len(reader.PARTS) + 2
    with cli.out.progress(steps, "Reading both accounts") as advance:
        try:
            return pagerduty.prepare(source, cli.rest, cli.now(), days, lambda _: advance(1))
        except ApiError as exc:
            if exc.url.startswith(source.base_url):
                raise _source_failure(exc, source.base_url) from None
            raise


@app.command("pagerduty")
@handled
def import_pagerduty(
    token: Annotated[str, typer.Option("--token", envvar="PAGERDUTY_TOKEN", help="A read-only REST API key of the "
                                       "PagerDuty account (or PAGERDUTY_TOKEN).", show_default=False)],
    api_url: Annotated[str, typer.Option("--api-url", help="The source's REST API (another Tocsin works too).")]
    = pagerduty.PAGERDUTY_API,
    plan_only: Annotated[bool, typer.Option("--plan", help="Show what would be created or updated; write "
                                            "nothing.")] = False,
    override_days: Annotated[int, typer.Option("--override-days", min=0, max=365,
                                               help="Carry schedule overrides of this many days ahead.")]
    = pagerduty.OVERRIDE_DAYS,
    as_json: options.Json = False,
    profile: options.ProfileName = None,
) -> None:
    """Import a PagerDuty account into the profile's Tocsin: users (contact methods, notification
    rules), teams and members, schedules (layers, restrictions, overrides ahead), escalation
    policies, services (timeouts, urgency rules, support hours) with their integrations KEEPING
    their integration keys, maintenance windows, priorities and webhook subscriptions. Run it again
    to bring changes over: objects are matched by email or name, updated, never duplicated, and
    nothing made or added in Tocsin is deleted. Ends with a report of what could not be mapped."""
    cli = open_cli(profile, as_json)
    source = cli.client_for(Credentials(api_url, token))
    try:
        prepared = _read(cli, source, override_days)
    finally:
        source.close()
    extra_lines = [(f"  and {prepared.override_count} override(s) to add on {len(prepared.overrides)} schedule(s), "
                   f"{len(prepared.priorities)} priority(ies) to create")]
    if plan_only:
        if as_json:
            cli.out.json({"plan": prepared.plan.json(), "overrides": prepared.overrides,
                          "priorities": [p.get("name") for p in prepared.priorities],
                          "unmapped": [n.json() for n in prepared.notes]})
            return
        show_plan(cli.out, prepared.plan, to_stdout=True)
        cli.out.lines(extra_lines)
        _show_report(cli.out, _report_rows(prepared, None))
        return
    if not as_json:
        show_plan(cli.out, prepared.plan, to_stdout=False)
        for line in extra_lines:
            cli.out.note(line)
    with cli.out.progress(pagerduty.work(prepared), "Importing") as advance:
        result = pagerduty.apply(cli.rest, prepared, cli.now(), advance)
    if as_json:
        cli.out.json({"plan": prepared.plan.json(), "outcomes": [o.json() for o in result.outcomes],
                      "extras": [e.json() for e in result.extras], "unmapped": [n.json() for n in prepared.notes]})
    else:
        show_outcomes(cli.out, list(result.outcomes))
        _show_report(cli.out, _report_rows(prepared, result))
    if result.failed:
        cli.out.note(f"{result.failed} step(s) failed (see the report)")
        raise typer.Exit(exits.API_ERROR)
