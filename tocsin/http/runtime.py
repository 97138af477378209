"""What a request handler needs from the running process, reached through ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings
from tocsin.db.session import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    # Hooks other parts register, e.g. the events directory forgetting a deleted routing key.
    hooks: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.settings.base_url


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]
