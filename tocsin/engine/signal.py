"""Telling engines that a transaction stored work for them, for which steps and due when.

In this process: ``wake(due)`` runs once the transaction commits (never if it rolls back), so the
engine never looks for work before it is visible. In other processes sharing PostgreSQL:
``NOTIFY tocsin_engine, '<payload>'`` in the same transaction, which PostgreSQL delivers to every
listener (``tocsin.engine.listener``) on commit and drops on rollback. SQLite has no such channel;
an engine in another process finds the work at its next look (at most ``agenda.IDLE_SECONDS``).

The payload names the steps and their earliest due times (``notify=1765000000.123,escalate=...``,
unix seconds of the engine clock), so an engine wakes only the steps that have work and only when
it falls due: an escalation stored for 30 minutes from now costs no look now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from tocsin.db.after_commit import after_commit

CHANNEL = "tocsin_engine"
_ANNOUNCED = "tocsin_engine_announced"


Wake = Callable[[Mapping[str, datetime] | None], None]


def announce(session: Session, wake: Wake, due: Mapping[str, datetime]) -> None:
    """Wake the engines for ``due`` (step -> earliest due time) when ``session``'s transaction
    commits; several announcements in one transaction are merged into one wake."""
    transaction = session.get_transaction()
    held = session.info.get(_ANNOUNCED)
    if held is not None and held[0] is transaction:
        merged: dict[str, datetime] = held[1]
    else:
        merged = {}
        session.info[_ANNOUNCED] = (transaction, merged)
        after_commit(session, lambda: wake(dict(merged)))
    fresh = {step: at for step, at in due.items() if step not in merged or at < merged[step]}
    merged.update(fresh)
    if fresh and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL folds identical payloads of one transaction into one notification.
        session.execute(text(f"SELECT pg_notify('{CHANNEL}', :payload)"), {"payload": encode(fresh)})


def encode(due: Mapping[str, datetime]) -> str:
    return ",".join(f"{step}={at.timestamp():.3f}" for step, at in sorted(due.items()))


def decode(payload: str) -> dict[str, datetime] | None:
    """The steps and times of a NOTIFY payload; None (look at everything) when it names none or
    is not understood (an older Tocsin's bare NOTIFY)."""
    due: dict[str, datetime] = {}
    for part in payload.split(","):
        step, _, at = part.partition("=")
        try:
            due[step.strip()] = datetime.fromtimestamp(float(at), UTC)
        except (ValueError, OverflowError, OSError):
            return None
    return due or None
