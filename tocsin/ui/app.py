"""Builds the web UI: its own small FastAPI app (HTML errors, not the REST API's JSON), mounted
by the composition root (``tocsin.api.app``) in front of the REST gate for ``/`` and ``/ui/...``:
pages authenticate with the session cookie, never an API key, and call the domains directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from tocsin.errors import AccessDenied, TocsinError
from tocsin.http.runtime import Runtime
from tocsin.notifications.channel import Channel
from tocsin.ui.feed import Broadcaster
from tocsin.ui.pages import (
    feed,
    incident,
    incident_actions,
    incidents,
    oncall,
    password,
    people,
    schedules,
    services,
    signin,
)
from tocsin.ui.templating import Templates
from tocsin.ui.web import UiRuntime, page, redirect, viewer

PREFIX = "/ui/"
STATIC = Path(__file__).parent / "static"


def is_ui_path(path: str, method: str = "GET", accept: str = "*/*") -> bool:
    """Requests the UI answers (everything else is the REST API's): its own paths, and ``/`` for a
    page load (GET or HEAD) that does not ask for JSON. An API client on ``/`` (its ``DELETE
    /services/..`` or ``GET /incidents/..`` collapses to it) gets the REST API's PagerDuty-shaped
    answer, not a page."""
    if path == "/":
        wants_json = "json" in accept and "text/html" not in accept
        return method in ("GET", "HEAD") and not wants_json
    return path.startswith(PREFIX)


class CachedStatic(StaticFiles):
    """The static files' names carry their versions (``htmx-2.0.11.min.js``), so browsers may keep
    them a day; the UI's own CSS and JS are revalidated by their ETag."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]  # passed through as given
        response.headers["Cache-Control"] = "public, max-age=86400" if "/vendor/" in str(args[0]) else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def build_ui(rt: Runtime, broadcaster: Broadcaster, channels: Callable[[str], Channel]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.ui = UiRuntime(rt, Templates(), broadcaster, lambda: channels("email"), channels)
    app.mount("/ui/static", CachedStatic(directory=STATIC), name="static")
    for module in (signin, password, incidents, incident, incident_actions, feed, oncall, schedules, services,
                   people):
        app.include_router(module.router)

    @app.exception_handler(TocsinError)
    async def domain_error(request: Request, exc: TocsinError) -> Response:
        who = await viewer(request)
        if isinstance(exc, AccessDenied) and who.user is None:
            return redirect(request, who, f"/ui/sign-in?next={request.url.path}")
        return page(request, who, "message.html", status=exc.status_code, title=exc.message,
                    text=" ".join(exc.errors) or exc.message, link=("/", "Back to incidents"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        who = await viewer(request)
        title = "Page not found" if exc.status_code == 404 else str(exc.detail)
        return page(request, who, "message.html", status=exc.status_code, title=title, text="",
                    link=("/", "Back to incidents"))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        who = await viewer(request)
        return page(request, who, "message.html", status=400, title="Invalid request", text="",
                    link=("/", "Back to incidents"))

    return app
