"""Announcing which incidents a transaction changed, once it has committed.

A before-commit hook (``Database.before_commit``, registered by the composition roots) reads the
transition records the transaction wrote (``transition_writer.recorded``: REST and UI changes,
processor batches, the engine's escalations and send outcomes) and:

* in this process, hands their incident ids to ``deliver`` after the commit (never on rollback),
  so a page showing them can refresh at once;
* on PostgreSQL, also ``NOTIFY tocsin_incidents`` in the same transaction, which PostgreSQL
  delivers to every listener when it commits (other ``tocsin serve`` nodes, an engine running
  alone). The payload starts with the sending process's ``origin`` so a process ignores its own.

A transaction touching more than ``MAX_IDS`` incidents announces ``*`` (every incident may have
changed): a NOTIFY payload is limited to 8000 bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from tocsin.db.after_commit import after_commit
from tocsin.incidents.transition_writer import recorded

CHANNEL = "tocsin_incidents"
MAX_IDS = 200
EVERYTHING = "*"

# Called after the commit with the changed incidents' ids (None: any incident may have changed).
Deliver = Callable[[frozenset[str] | None], None]


def announce_changes(session: Session, deliver: Deliver | None, origin: str) -> None:
    ids = frozenset(record.incident_id for record in recorded(session))
    if not ids:
        return
    if deliver is not None:
        after_commit(session, lambda: deliver(ids))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": encode(origin, ids)})


def encode(origin: str, ids: frozenset[str]) -> str:
    return f"{origin}:{EVERYTHING if len(ids) > MAX_IDS else ','.join(sorted(ids))}"


def decode(payload: str) -> tuple[str, frozenset[str] | None]:
    """(origin, ids) of a payload; ids None means any incident may have changed."""
    origin, _, rest = payload.partition(":")
    if rest == EVERYTHING or not rest:
        return origin, None
    return origin, frozenset(i for i in rest.split(",") if i)
