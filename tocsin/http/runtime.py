"""What a request handler needs from the running process, reached through ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.http.wiring import Wiring


@dataclass
class Runtime:
    settings: Settings
    db: Database
    # Required: the domains' collaborators (``tocsin.http.wiring``), built once by ``tocsin.api.app``.
    wiring: Wiring
    # Not frozen: tests swap in a FrozenClock.
    clock: Clock = field(default_factory=SystemClock)

    @property
    def base_url(self) -> str:
        return self.settings.base_url


async def runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a hop on every request.
    return request.app.state.runtime
