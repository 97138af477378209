"""Run read-only query code written for ``AsyncSession`` on a synchronous ``Session``.

The event processor is synchronous (it holds SQLite's write lock in a worker thread, and runs
inside ``AsyncSession.run_sync`` on PostgreSQL), yet needs reads other domains publish as async
functions (who is on call, user names). Rather than keep a second copy of each, ``run_now`` drives
such a coroutine to completion in one step over ``SyncAsAsync``, whose methods never suspend.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


class SyncAsAsync:
    """The subset of ``AsyncSession`` that query functions use, answered by a sync ``Session``."""

    def __init__(self, session: Session) -> None:
        self.sync_session = session
        self.info = session.info

    @property
    def bind(self) -> Any:
        return self.sync_session.get_bind()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.execute(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.scalars(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.scalar(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.get(*args, **kwargs)


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (one over ``SyncAsAsync``)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a query awaited something other than the synchronous session")
