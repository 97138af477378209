"""Engines for the two supported databases.

SQLite is the embedded default: WAL mode with ``synchronous=FULL`` (a 202 means the event is
on disk). One process writes the file, through three connections that take turns
(``Database.write_turn``): the async one (REST), the background writer's and the group
commit's, the last two synchronous in worker threads; reads have a small pool of their own.
PostgreSQL gets a normal pool and may be shared by several Tocsin processes.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from tocsin.db.liveness import ping_after_idle
from tocsin.db.wal import BACKSTOP_PAGES
from tocsin.jsondepth import MAX_STORED_DEPTH, bounded, nests_deeper_than


def async_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # The background writer checkpoints after its write turn (tocsin.db.wal); a commit of another
    # connection checkpoints only as a backstop.
    cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    cur.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_loads(text: str | bytes) -> Any:
    """Every stored JSON value, read with over-deep parts (stored before the nesting limit)
    replaced by a marker, so that no answer that embeds it can fail to encode."""
    value = orjson.loads(text)
    # Nesting n levels takes at least 2n characters and n opening brackets (counted in C, strings
    # included, so the count can only overstate): most values need no walk.
    if len(text) > 2 * MAX_STORED_DEPTH and _openings(text) > MAX_STORED_DEPTH \
            and nests_deeper_than(value, MAX_STORED_DEPTH):
        return bounded(value)
    return value


def _openings(text: str | bytes) -> int:
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[")
    return text.count("{") + text.count("[")


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            async_url(url),
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            json_serializer=_json_dumps,
            json_deserializer=_json_loads,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
    )
    ping_after_idle(engine)  # not pool_pre_ping: see tocsin.db.liveness
    return engine


# Connections of the SQLite read pool: reads on two cores gain nothing from more.
READERS = 4


def create_sqlite_writer(url: str, *, checkpoints: bool = False) -> Engine:
    """A synchronous engine for SQLite's background writer (the event processor), and for the
    inbox's group commit.

    Its transactions start with BEGIN IMMEDIATE, taking the write lock up front, so a
    read-then-write transaction can never fail on a stale snapshot; it runs in a worker thread,
    so while it holds the lock other writers wait in their own thread, never on the event loop.
    ``checkpoints``: its commits checkpoint as a backstop, as other connections' do; the
    background writer's never do (it checkpoints after its turn, ``tocsin.db.wal``).
    """
    engine = create_sync_engine(
        make_url(url).set(drivername="sqlite").render_as_string(hide_password=False),
        pool_size=1,
        max_overflow=0,
        connect_args={"check_same_thread": False},
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy issue BEGIN itself
        _sqlite_pragmas(dbapi_conn, record)
        if not checkpoints:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # never inside a commit (tocsin.db.wal)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Read-only work (execution option ``read_only``) must not take the write lock.
        read_only = conn.get_execution_options().get("read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def create_sqlite_reader(url: str) -> Engine:
    """A synchronous engine for SQLite reads that run in a worker thread (``Database.read``).

    aiosqlite costs a thread round trip per driver call (a page of incidents made ~30 of them,
    most of its time); a whole read in one worker-thread hop costs one. WAL lets these
    connections read while the writer writes; ``query_only`` makes sure they never write.
    """
    engine = create_sync_engine(
        make_url(url).set(drivername="sqlite").render_as_string(hide_password=False),
        pool_size=READERS,
        max_overflow=0,
        connect_args={"check_same_thread": False},
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, record)
        dbapi_conn.execute("PRAGMA query_only=ON")

    return engine
