"""Work that must wait until the caller's transaction has committed.

Domain functions never commit (the caller owns the transaction), yet some of their effects reach
outside the database: a user deleted or demoted must drop out of the process's credential cache.
Doing that before the commit is wrong: a concurrent request could look the credential up between
the drop and the commit, still see the old row, and cache it again for the cache's lifetime. So
the domain function registers the action here and it runs once the transaction has committed;
if the transaction rolls back, it is dropped (nothing changed, so there is nothing to undo).
``after_rollback`` is the other half, for what must be given back when the transaction does not
commit (the webhook dispatcher's room for sends it reserved in the transaction).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_PENDING = "after_commit"
_UNDO = "after_rollback"


def after_commit(session: AsyncSession | Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's current transaction commits; never if it rolls back.

    Actions must not touch the database (the session is between transactions when they run) and
    should not fail: they run inside ``commit()``, after the data is safely stored.
    """
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_PENDING, []).append(action)


def after_rollback(session: AsyncSession | Session, action: Callable[[], None]) -> None:
    """Run ``action`` if the session's current transaction rolls back (a failed commit included);
    never once it has committed. The same rules as ``after_commit``'s actions."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_UNDO, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released (SQLAlchemy reports that as a commit too): nothing is stored yet
    session.info.pop(_UNDO, None)
    for action in session.info.pop(_PENDING, ()):
        action()


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous: SessionTransaction) -> None:
    # Only when the whole transaction rolls back: a savepoint rolled back inside it leaves the
    # transaction (and what it will commit) alive.
    if previous.parent is None:
        session.info.pop(_PENDING, None)
        for action in session.info.pop(_UNDO, ()):
            action()
