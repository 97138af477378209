"""The ``tocsin`` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import asdict

import typer

from tocsin.config import Settings

app = typer.Typer(help="Tocsin: self-hosted incident response speaking the PagerDuty APIs.", no_args_is_help=True)


@app.command()
def init(as_json: bool = typer.Option(False, "--json", help="Print a JSON object for scripts.")) -> None:
    """Create or migrate the database; on first run create an admin, an API key and a demo service."""
    from tocsin.bootstrap import initialise

    result = asyncio.run(initialise(Settings()))
    if as_json:
        typer.echo(json.dumps(asdict(result)))
        return
    typer.echo(f"Tocsin URL:       {result.url}")
    typer.echo(f"Admin:            {result.admin_email}")
    typer.echo(f"API key:          {result.api_key}   (shown once; stored hashed)")
    typer.echo(f"Demo service:     {result.service_id}")
    typer.echo(f"Integration key:  {result.integration_key}")


@app.command()
def serve() -> None:
    """Run the server (Events API and REST API) on TOCSIN_HOST:TOCSIN_PORT."""
    import uvicorn

    from tocsin.api.app import create_app

    settings = Settings()
    # The SQLite event processor runs in a thread; hand the GIL back to the event loop every
    # 0.5 ms instead of 5 ms so requests are not held up behind a processing batch.
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        log_level=settings.log_level, access_log=False, lifespan="on",
    )


@app.command()
def run() -> None:
    """``init`` then ``serve``: what ``make run`` does."""
    init(as_json=False)
    serve()
