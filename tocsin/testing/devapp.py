"""The app ``tocsin dev`` and the test double serve: Tocsin behind the inspector, plus ``/dev``.

Dev-only routes exist only here: ``tocsin serve`` builds ``tocsin.api.app.Tocsin`` alone, whose
gate answers ``/dev`` like any unknown path. Under ``/dev`` (no credential: a local development
server):

- ``GET /dev``                    the inspector page (HTML, server-rendered)
- ``GET /dev/requests``           every Events API request and REST write, with its validation result
- ``GET /dev/notifications``      the emails, SMS and calls "sent" (captured, never sent)
- ``GET /dev/clock``              Tocsin's time and rate
- ``POST /dev/clock/advance``     ``{"minutes": 5}`` (also weeks, days, hours, seconds): move the
                                  clock on, firing everything due on the way (``timetravel``)
- ``DELETE /dev/requests`` and ``DELETE /dev/notifications`` forget what was recorded
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tocsin.api.app import Tocsin
from tocsin.testing import page, timetravel
from tocsin.testing.inspector import Inspector, RequestLog
from tocsin.testing.outbox import outbox_of, sent_notifications
from tocsin.testing.timetravel import MovableClock

PREFIX = "/dev"
UNITS = ("weeks", "days", "hours", "minutes", "seconds")
MAX_ADVANCE = timedelta(days=366)


def _refused(*errors: str) -> JSONResponse:
    """PagerDuty's error shape, code 2001 (invalid input)."""
    return JSONResponse({"error": {"message": "Invalid Input Provided", "code": 2001, "errors": list(errors)}},
                        status_code=400)


def parse_advance(fields: Any) -> timedelta | list[str]:
    """``{"minutes": 5, ...}`` -> how far to move the clock, or what is wrong with it."""
    if not isinstance(fields, dict) or not fields:
        return [f"send a JSON object with one or more of {', '.join(UNITS)}, e.g. {{\"minutes\": 5}}"]
    errors = [f"{name}: unknown unit (use {', '.join(UNITS)})" for name in fields if name not in UNITS]
    amounts: dict[str, float] = {}
    for name in UNITS:
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            errors.append(f"{name}: must be a number of zero or more")
        else:
            amounts[name] = float(value)
    if errors:
        return errors
    delta = timedelta(**amounts)
    if delta > MAX_ADVANCE:
        return [f"the clock moves at most {MAX_ADVANCE.days} days at a time"]
    return delta


class DevApp:
    """``/dev`` and, for every other path, the inspector in front of Tocsin (lifespan included)."""

    def __init__(self, tocsin: Tocsin, clock: MovableClock, *, clock_rate: float = 1.0,
                 requests: RequestLog | None = None) -> None:
        if tocsin.runtime.clock is not clock:
            raise ValueError("the dev app moves the clock Tocsin reads: set tocsin.runtime.clock to it first")
        outbox_of(tocsin)  # refuses an app whose notifications would really be sent
        self.tocsin, self.clock, self.clock_rate = tocsin, clock, clock_rate
        self.requests = requests or RequestLog()
        self.inspected = Inspector(tocsin, self.requests, clock.now)
        self.routes = Starlette(routes=[
            Route(PREFIX, self.page, methods=["GET"]),
            Route(f"{PREFIX}/requests", self.list_requests, methods=["GET", "DELETE"]),
            Route(f"{PREFIX}/notifications", self.list_notifications, methods=["GET", "DELETE"]),
            Route(f"{PREFIX}/clock", self.show_clock, methods=["GET"]),
            Route(f"{PREFIX}/clock/advance", self.advance, methods=["POST"]),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/")):
            await self.routes(scope, receive, send)
        else:
            await self.inspected(scope, receive, send)

    # --- routes ----------------------------------------------------------------------------

    def _clock(self) -> dict[str, Any]:
        return {"now": self.clock.now().isoformat(), "rate": self.clock_rate}

    async def _notifications(self) -> list[dict[str, Any]]:
        return [n.to_json() for n in await sent_notifications(self.tocsin)]

    async def page(self, request: Request) -> Response:
        await timetravel.settle(self.tocsin)  # what was accepted is shown processed
        return HTMLResponse(page.render(
            now=self.clock.now().isoformat(), rate=self.clock_rate,
            requests=[r.to_json() for r in self.requests.records()], notifications=await self._notifications()))

    async def list_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            return Response(status_code=204)
        kinds = request.query_params.getlist("kind") or ["events", "rest"]
        return JSONResponse({"requests": [r.to_json() for r in self.requests.records(kinds)]})

    async def list_notifications(self, request: Request) -> Response:
        if request.method == "DELETE":
            outbox_of(self.tocsin).clear()
            return Response(status_code=204)
        await timetravel.settle(self.tocsin)  # sends due now are made before they are listed
        return JSONResponse({"notifications": await self._notifications()})

    async def show_clock(self, request: Request) -> Response:
        return JSONResponse(self._clock())

    async def advance(self, request: Request) -> Response:
        raw = await request.body()
        from_form = False
        try:  # JSON whatever the content type says (`curl -d '{...}'` calls it a form)
            fields: Any = json.loads(raw) if raw else None
        except ValueError:
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return _refused("the body is not JSON")
            from_form = True  # the page's form: numbers as text
            fields = {k: _number(v[-1]) for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        delta = parse_advance(fields)
        if isinstance(delta, list):
            return _refused(*delta)
        before = self.clock.now()
        await timetravel.advance(self.tocsin, self.clock, delta)
        if from_form:
            return RedirectResponse(PREFIX, status_code=303)
        return JSONResponse({**self._clock(), "moved_from": before.isoformat()})


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
