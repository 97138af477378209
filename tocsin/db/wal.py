"""SQLite's WAL checkpoints, run by the background writer after its write turn instead of inside
a commit.

With SQLite's default (``wal_autocheckpoint`` 1000 pages) the commit that takes the WAL past 1000
pages copies the WAL back into the database file, fsyncs included, before it returns: an events
processor batch writes more than that (every new incident touches a page in each of a dozen
indexes keyed by random ids), so nearly every batch checkpointed while holding the in-process
write turn (``Database.write_turn``), and the group commits, with them the 202s, waited for it.

So the background writer's connection (the processor, ``Database.write`` and the retention sweep)
never checkpoints in a commit (``wal_autocheckpoint=0``); once its turn is handed back, it runs a
PASSIVE checkpoint (never waits for readers or writers) if it has changed ``CHECKPOINT_ROWS`` rows
since the last one: about every third full processor batch, so the WAL stays a few thousand pages
long and about as many bytes are written as before (checkpointing after every batch copied 35 %
more: a page changed by several batches is copied once per checkpoint). The other connections
keep an automatic checkpoint as a backstop (``BACKSTOP_PAGES``): if the writer is idle while the
group commit goes on writing, their commits still bound the WAL.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

CHECKPOINT_ROWS = 2000  # rows the writer changes between checkpoints (a 100-event batch: ~900)
BACKSTOP_PAGES = 4000  # automatic checkpoints of the other connections (pages; SQLite's default 1000)


def checkpoint_due(changes: int, checkpointed: int) -> bool:
    """Whether a writer connection that has changed ``changes`` rows since it opened (SQLite's
    ``total_changes``) should checkpoint, its last checkpoint having been at ``checkpointed``. A
    count below the last means the connection was replaced and counts from zero again."""
    return changes - (checkpointed if checkpointed <= changes else 0) >= CHECKPOINT_ROWS


class WriterCheckpoints:
    """Follows how many rows the writer engine's commits changed and checkpoints when due."""

    def __init__(self, writer: Engine) -> None:
        self._writer = writer
        self._changes = 0
        self._checkpointed = 0
        self.runs = 0
        event.listen(writer, "commit", self._committed)

    def _committed(self, connection: Any) -> None:
        self._changes = connection.connection.driver_connection.total_changes

    def due(self) -> bool:
        return checkpoint_due(self._changes, self._checkpointed)

    def run(self) -> None:
        """One PASSIVE checkpoint on the writer's connection (call from the writer's thread, while
        no write transaction is open on it). A failure is logged, never raised: the writes it
        follows are committed, and the next checkpoint (or a backstop) catches up."""
        self._checkpointed = self._changes
        self.runs += 1
        raw = self._writer.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None  # a checked-out connection has its driver's
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            log.warning("WAL checkpoint failed; the next one will catch up", exc_info=True)
        finally:
            raw.close()
