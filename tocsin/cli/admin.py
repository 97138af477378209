"""Administration through the REST API: services, escalation policies, users, teams, API keys,
OAuth clients and webhook subscriptions — list, show, create, delete.

Each resource is described once (``admin_resources.Resource``: its path, its columns); ``list``,
``show`` and ``delete`` are made here from that description, ``create`` is written per resource
(``admin_create``) and registered here beside them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from tocsin.cli import options
from tocsin.cli.admin_create import CREATORS
from tocsin.cli.admin_resources import POLICY, RESOURCES, SERVICE, Resource, find
from tocsin.cli.output import Column, Output, choose, local_time
from tocsin.cli.session import Cli, confirm, handled, open_cli, usage


def build(resource: Resource) -> typer.Typer:
    """``list``, ``show`` and ``delete`` for a resource."""
    app = typer.Typer(help=f"{resource.plural[0].upper()}{resource.plural[1:]}: list, show, create, delete "
                           "(through the REST API).", no_args_is_help=True)

    @app.command("list")
    @handled
    def list_(
        query: Annotated[str | None, typer.Option("--query", "-q", help="Names containing this.",
                                                  show_default=False)] = None,
        columns_: options.Columns = None, pipe: options.Pipe = False, as_json: options.Json = False,
        profile: options.ProfileName = None,
    ) -> None:
        cli = open_cli(profile, as_json)
        shown = choose(resource.columns, columns_, resource.default) if not (as_json or pipe) else []
        if query and not resource.query:
            raise usage(f"{resource.plural} cannot be searched; list them all")
        cli.out.listing(list(cli.rest.iter_offset(resource.path, resource.key, {"query": query})), shown, pipe)

    list_.__doc__ = f"List {resource.plural}."

    @app.command("show")
    @handled
    def show(
        name: Annotated[str, typer.Argument(help="Name or id.")], as_json: options.Json = False,
        profile: options.ProfileName = None, tz: options.Zone = None,
    ) -> None:
        cli = open_cli(profile, as_json, tz)
        item = find(cli, resource, name)
        if resource is SERVICE:  # the routing keys are what an operator comes for
            item = cli.rest.get(f"/services/{item['id']}", {"include[]": ["integrations"]})["service"]
        if as_json:
            cli.out.json(item)
            return
        cli.out.record(describe(item, cli))
        if resource is SERVICE:
            show_integrations(cli.out, item)
        if resource is POLICY:
            show_levels(cli.out, item)

    show.__doc__ = f"Show one {resource.title}."

    @app.command("delete")
    @handled
    def delete(
        name: Annotated[str, typer.Argument(help="Name or id.")], yes: options.Yes = False,
        profile: options.ProfileName = None,
    ) -> None:
        cli = open_cli(profile)
        item = find(cli, resource, name)
        label = item.get("name") or item.get("summary") or item.get("description") or ""
        confirm(cli.out, f"Delete {resource.title} {item['id']}{f' ({label})' if label else ''}?", yes)
        cli.rest.delete(f"{resource.path}/{item['id']}")
        cli.out.note(f"Deleted {resource.title} {item['id']}")

    delete.__doc__ = f"Delete a {resource.title} (asks first; --yes does not)."
    return app


def describe(item: dict[str, Any], cli: Cli) -> list[tuple[str, Any]]:
    """The object's plain fields, references by name, lists of references by names, times local."""
    pairs: list[tuple[str, Any]] = []
    for key, value in item.items():
        if key in ("self", "html_url", "type", "summary", "escalation_rules", "integrations", "token",
                   "client_secret") or value in (None, "", [], {}):
            continue
        if key.endswith(("_at", "_time")) and isinstance(value, str):
            value = local_time(value, cli.zone)
        elif isinstance(value, dict) and not ("summary" in value or "name" in value or "id" in value):
            value = json.dumps(value, ensure_ascii=False)
        pairs.append((key.replace("_", " "), value))
    return pairs


def show_integrations(out: Output, service: dict[str, Any]) -> None:
    integrations = [i for i in service.get("integrations") or [] if isinstance(i, dict)]
    if not integrations:
        return
    out.lines(["", "Integrations:"])
    out.table(integrations, [Column("id", "ID", lambda i: i["id"]),
                             Column("name", "Name", lambda i: i.get("name") or i.get("summary")),
                             Column("type", "Type", lambda i: i.get("type")),
                             Column("key", "Routing key", lambda i: i.get("integration_key"))])


def show_levels(out: Output, policy: dict[str, Any]) -> None:
    out.lines(["", "Levels:"])
    for number, rule in enumerate(policy.get("escalation_rules") or [], start=1):
        targets = ", ".join(f"{str(t.get('type', '')).removesuffix('_reference')} {t.get('summary') or t.get('id')}"
                            for t in rule.get("targets") or [])
        out.lines([f"  {number}. {targets}  (escalates after {rule.get('escalation_delay_in_minutes')} min)"])


APPS: dict[str, typer.Typer] = {resource.command: build(resource) for resource in RESOURCES}

for _command, _create in CREATORS.items():
    APPS[_command].command("create")(handled(_create))
