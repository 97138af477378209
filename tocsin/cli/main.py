"""The ``tocsin`` app: the server commands and the REST client commands, assembled."""

from __future__ import annotations

import typer

from tocsin.cli import (
    admin,
    configuration,
    destinations,
    event,
    importer,
    incident,
    login,
    oncall,
    raw,
    route,
    schedule,
    server,
)
from tocsin.ui.commands import register as register_ui_commands

app = typer.Typer(
    help="Tocsin: self-hosted incident response speaking the PagerDuty APIs.\n\n"
         "Server commands (init, serve, engine, run, api-key, oauth-client, allowlist) work on the local database. The "
         "others speak the REST API of a Tocsin server or of PagerDuty itself, as the profile `tocsin login` "
         "saved says. Exit codes: 0 ok, 1 the API refused or failed, 2 usage, 3 not found, 4 authentication "
         "or permission, 5 server unreachable, 6 rate limited.",
    no_args_is_help=True, pretty_exceptions_enable=False,
)
server.register(app)

app.command("login")(login.login)
app.command("logout")(login.logout)
app.add_typer(login.profile_app, name="profile")
app.add_typer(incident.app, name="incident")
app.command("oncall")(oncall.oncall)
app.add_typer(schedule.app, name="schedule")
app.add_typer(event.app, name="event")
app.add_typer(route.app, name="route")
app.command("api")(raw.api)
app.command("export")(configuration.export)
app.command("apply")(configuration.apply)
app.add_typer(importer.app, name="import")

# Administration: every resource under `tocsin admin`; the everyday ones also at the top level.
# `tocsin api-key` / `oauth-client` at the top level are the server-side commands (database).
admin_app = typer.Typer(help="Administration through the REST API: services, escalation policies, users, "
                             "teams, API keys, OAuth clients, webhook subscriptions, a service's forwarders "
                             "and chat webhooks.", no_args_is_help=True)
# Web UI accounts join `tocsin user`: set-password and invite work on the local database.
register_ui_commands(admin.APPS["user"])
# Webhook subscriptions' enable and ping live beside the forwarders' and chat webhooks' commands.
destinations.register_webhook_commands(admin.APPS["webhook"])
for command, sub_app in {**admin.APPS, **destinations.APPS}.items():
    admin_app.add_typer(sub_app, name=command)
app.add_typer(admin_app, name="admin")
for command in ("service", "policy", "user", "team", "webhook"):
    app.add_typer(admin.APPS[command], name=command)
for command, sub_app in destinations.APPS.items():
    app.add_typer(sub_app, name=command)
