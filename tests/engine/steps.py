"""Steps for testing the loop: real objects whose behaviour each test writes as a function."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from tocsin.engine.step import StepResult

Behaviour = Callable[[datetime], Awaitable[StepResult]]


async def idle(now: datetime) -> StepResult:
    return StepResult()


class ScriptedStep:
    """A step that records each run (engine time and monotonic real time) and does ``behaviour``."""

    def __init__(self, name: str, behaviour: Behaviour = idle, budget_seconds: float = 2.0,
                 background: bool = False, *, runs_apart: bool = False, gather_seconds: float = 0.0) -> None:
        self.name = name
        self.budget_seconds = budget_seconds
        self.background = background
        self.runs_apart = runs_apart
        self.gather_seconds = gather_seconds
        self.behaviour = behaviour
        self.runs: list[datetime] = []
        self.real_times: list[float] = []
        self._ran = asyncio.Event()

    async def run(self, now: datetime) -> StepResult:
        self.runs.append(now)
        self.real_times.append(time.monotonic())
        self._ran.set()
        return await self.behaviour(now)

    async def until_runs(self, count: int, within: float = 2.0) -> float:
        """Wait until ``count`` runs have begun; the monotonic time the ``count``-th began."""
        async with asyncio.timeout(within):
            while True:
                self._ran.clear()  # no await between this and the check: no run slips past
                if len(self.runs) >= count:
                    return self.real_times[count - 1]
                await self._ran.wait()
