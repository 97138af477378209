"""Telling engines that a transaction stored work for them.

In this process: ``wake`` runs once the transaction commits (never if it rolls back), so the
engine never looks for work before it is visible. In other processes sharing PostgreSQL:
``NOTIFY tocsin_engine`` in the same transaction, which PostgreSQL delivers to every listener
(``tocsin.engine.listener``) on commit and drops on rollback. SQLite has no such channel; an
engine in another process finds the work at its next look (at most ``loop.IDLE_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from tocsin.db.after_commit import after_commit

CHANNEL = "tocsin_engine"
_ANNOUNCED = "tocsin_engine_announced"


def announce(session: Session, wake: Callable[[], None]) -> None:
    """Wake the engines when ``session``'s transaction commits (once per transaction)."""
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_ANNOUNCED) is transaction:
        return  # already announced: one NOTIFY and one wake per transaction are enough
    session.info[_ANNOUNCED] = transaction
    after_commit(session, wake)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))
