"""Run query code written for ``AsyncSession`` on a synchronous ``Session``.

The event processor is synchronous (it holds SQLite's write lock in a worker thread, and runs
inside ``AsyncSession.run_sync`` on PostgreSQL), yet needs reads other domains publish as async
functions (who is on call, user names). Rather than keep a second copy of each, ``run_now`` drives
such a coroutine to completion in one step over ``SyncAsAsync``, whose methods never suspend.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


class SyncAsAsync:
    """The subset of ``AsyncSession`` that query and write code uses, answered by a sync ``Session``
    (``Database.read`` and ``Database.write`` drive such code in one thread hop on SQLite)."""

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

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        self.sync_session.flush(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.sync_session.add(*args, **kwargs)

    def add_all(self, *args: Any, **kwargs: Any) -> None:
        self.sync_session.add_all(*args, **kwargs)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.sync_session, *args, **kwargs)

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.get_bind(*args, **kwargs)

    def __contains__(self, instance: object) -> bool:
        return instance in self.sync_session

    def expire(self, instance: object, attribute_names: Any = None) -> None:
        self.sync_session.expire(instance, attribute_names)


class QuerySuspended(RuntimeError):
    """A query run by ``run_now`` awaited real asynchronous work. Loud on purpose: the processor
    would otherwise fail (and eventually dead-letter) every batch that reaches it."""


def _awaiting(coroutine: Coroutine[Any, Any, Any]) -> str:
    """The chain of coroutines a suspended one is waiting in, outermost first."""
    names: list[str] = []
    current: Any = coroutine
    while current is not None and hasattr(current, "cr_code"):
        names.append(current.__qualname__)
        current = current.cr_await
    if current is not None:
        names.append(type(current).__qualname__)
    return " -> ".join(names)


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (one over ``SyncAsAsync``).

    Raises ``QuerySuspended`` naming the query (and where it waited) if it does suspend: then it
    awaited something other than ``SyncAsAsync``'s methods, and needs a synchronous twin."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    where = _awaiting(coroutine)
    coroutine.close()
    raise QuerySuspended(
        f"{where}: this query suspended while run over a synchronous session (tocsin.db.bridge.run_now); "
        "it must await only SyncAsAsync's methods (execute, scalars, scalar, get)")
