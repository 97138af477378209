"""Test harness: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``TOCSIN_TEST_PG_URL`` (default: the local server on 127.0.0.1:5432).
Where it is unreachable its tests are skipped with the reason — except in CI (``CI`` set),
where they must run, so an unreachable server fails the run instead of hiding tests.

Safe under pytest-xdist (``make test`` runs two workers): each worker makes its own PostgreSQL
database (named by its pid) and its own SQLite files.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import ssl
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from tocsin.api.app import Tocsin
from tocsin.bootstrap import InitResult, initialise
from tocsin.config import Settings
from tocsin.db.migrate import upgrade

# In CI, property and fuzz tests draw the same examples every run, so whether a change lands never
# depends on luck; locally they keep exploring new ones (and TOCSIN_FUZZ_EXAMPLES hunts longer).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PG_ADMIN_URL = os.environ.get("TOCSIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# Every Tocsin app a test builds makes its webhook client, whose guarded transport asks httpx for
# the default verifying SSL context (tocsin.outbound.transport): loading the CA bundle each time
# was about 15 ms of CPU, in every test. One such context serves them all (nothing changes it but
# httpcore setting the same HTTP/1.1 ALPN on each connection); any other context (a test's own CA,
# verify=False) is still made as asked.
_create_ssl_context = httpx.create_ssl_context


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    return _create_ssl_context(verify=True, trust_env=False)


def _ssl_context(
    verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True,
) -> ssl.SSLContext:
    if verify is True and cert is None and not trust_env:
        return _default_ssl_context()
    return _create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


httpx.create_ssl_context = _ssl_context
def _tables() -> list[str]:
    """Every table the ORM knows, parents before children, so a new domain's tables are emptied
    between tests too."""
    from tocsin.migrations.models import metadata

    return [t.name for t in metadata.sorted_tables]


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(_dsn(PG_ADMIN_URL), timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", with its reason
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable — but fail in CI, which must run those tests."""
    problem = asyncio.run(_pg_reachable())
    if problem is not None:
        reason = f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).render_as_string()} ({problem})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)


async def pg_admin(sql: str) -> None:
    """Run ``sql`` on the server's admin database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(_dsn(PG_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]  # table -> (columns, records)
T = TypeVar("T")


@dataclass(frozen=True)
class PgSnapshot:
    """Every row and every sequence's position at one moment (``PgDatabase.snapshot``)."""

    rows: Rows
    positions: dict[str, tuple[int, bool]]  # sequence -> (last_value, is_called)


class PgDatabase:
    """The session's PostgreSQL database and the rows it is reset to between tests.

    Emptying it with DELETE (in foreign-key order) and putting the remembered rows back, over one
    connection kept open for the session, takes a few milliseconds; TRUNCATE of every table took
    0.2-0.4 s a test (new files for each table), and a new connection per reset some more. The
    connection lives on its own event loop thread, so a reset can run inside a test's loop too.
    """

    def __init__(self, url: str, migrated: Rows, seeded: Rows, seed: InitResult, sequences: list[str]) -> None:
        self.url = url
        self.migrated = migrated  # what the migrations insert (e.g. the default priorities)
        self.seeded = seeded  # that plus what ``tocsin init`` makes (admin, key, policy, demo service)
        self.seed = seed
        self.sequences = sequences
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-reset", daemon=True)
        self._thread.start()
        # No statement cache: a test may drop and recreate a table (migration round trips).
        self._conn: asyncpg.Connection = self._run(asyncpg.connect(_dsn(url), statement_cache_size=0))

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def reset(self, rows: Rows) -> None:
        """Empty every table, restart the sequences, put ``rows`` back."""
        self._run(self._reset(rows))

    def snapshot(self) -> PgSnapshot:
        """What the database holds now, for ``restore``: a state a module builds once and each of
        its tests starts from."""
        return self._run(self._snapshot())

    def restore(self, snapshot: PgSnapshot) -> None:
        """Back to ``snapshot``: its rows, and its sequences where they were."""
        self._run(self._reset(snapshot.rows, snapshot.positions))

    async def _snapshot(self) -> PgSnapshot:
        rows: Rows = {}
        for table in _tables():
            found = await self._conn.fetch(f"SELECT * FROM {table}")
            if found:
                rows[table] = (list(found[0].keys()), [tuple(r) for r in found])
        positions = {}
        for sequence in self.sequences:
            row = await self._conn.fetchrow(f"SELECT last_value, is_called FROM {sequence}")
            assert row is not None
            positions[sequence] = (int(row["last_value"]), bool(row["is_called"]))
        return PgSnapshot(rows, positions)

    async def _reset(self, rows: Rows, positions: dict[str, tuple[int, bool]] | None = None) -> None:
        async with self._conn.transaction():
            await self._conn.execute(";".join(f"DELETE FROM {t}" for t in reversed(_tables())))
            for sequence in self.sequences:
                await self._conn.execute(f"ALTER SEQUENCE {sequence} RESTART")
            for sequence, (value, called) in (positions or {}).items():
                await self._conn.execute("SELECT setval($1::regclass, $2, $3)", sequence, value, called)
            for table in _tables():  # parents first
                if table in rows:
                    columns, records = rows[table]
                    await self._conn.copy_records_to_table(table, records=records, columns=columns)

    def close(self) -> None:
        self._run(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _rows(url: str) -> Rows:
    conn = await asyncpg.connect(_dsn(url))
    try:
        found: Rows = {}
        for table in _tables():
            rows = await conn.fetch(f"SELECT * FROM {table}")
            if rows:
                found[table] = (list(rows[0].keys()), [tuple(r) for r in rows])
        return found
    finally:
        await conn.close()


async def _sequences(url: str) -> list[str]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return [r["name"] for r in await conn.fetch(
            "SELECT quote_ident(sequence_schema) || '.' || quote_ident(sequence_name) AS name"
            " FROM information_schema.sequences")]
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    require_postgres()
    name = f"tocsin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    migrated = asyncio.run(_rows(url))
    seed = asyncio.run(initialise(make_settings(url)))
    seeded = asyncio.run(_rows(url))
    db = PgDatabase(url, migrated, seeded, seed, asyncio.run(_sequences(url)))
    yield db
    db.close()
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_url(pg_database: PgDatabase) -> str:
    return pg_database.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def sqlite_seeded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> tuple[Path, InitResult]:
    """The template after ``tocsin init``, and what init printed: harness tests start from a copy,
    so init (a migration check and a dozen writes) runs once a session, not once a test."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    shutil.copy(sqlite_template, path)
    return path, asyncio.run(initialise(make_settings(f"sqlite:///{path}")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        target = tmp_path / "tocsin.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    db: PgDatabase = request.getfixturevalue("pg_database")
    db.reset(db.migrated)
    return db.url


@pytest.fixture
def init_result(request: pytest.FixtureRequest, db_url: str) -> InitResult:
    """Turns the test's empty database into the state ``tocsin init`` leaves; what init printed.
    (A plain fixture: the copy and the reset run their own event loops, outside the test's.)"""
    if db_url.startswith("sqlite"):
        path, seed = request.getfixturevalue("sqlite_seeded")
        shutil.copy(path, str(make_url(db_url).database))  # not opened yet: the harness is its first user
        assert isinstance(seed, InitResult)
        return seed
    db: PgDatabase = request.getfixturevalue("pg_database")
    db.reset(db.seeded)
    return db.seed


@dataclass
class Harness:
    """A Tocsin app driven in-process; events are processed when the test says so."""

    tocsin: Tocsin
    client: httpx.AsyncClient
    seed: InitResult
    db_url: str

    @property
    def routing_key(self) -> str:
        assert self.seed.integration_key
        return self.seed.integration_key

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token token={self.seed.api_key}",
                "Accept": "application/vnd.pagerduty+json;version=2"}

    @property
    def writer(self) -> dict[str, str]:
        return {**self.auth, "From": self.seed.admin_email}

    def event(self, action: str = "trigger", dedup_key: str | None = None, **payload: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"routing_key": self.routing_key, "event_action": action}
        if dedup_key is not None:
            body["dedup_key"] = dedup_key
        if action == "trigger":
            body["payload"] = {"summary": "CPU high on web-1", "source": "web-1", "severity": "critical", **payload}
        return body

    async def send(self, body: Any, path: str = "/v2/enqueue") -> httpx.Response:
        return await self.client.post(path, json=body)

    async def process(self) -> int:
        return await self.tocsin.worker.drain()


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": db_url, "events_rate_limit": 0, "rest_rate_limit": 0,
                              "public_url": "http://tocsin.test"}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the app's settings."""
    return {}


@pytest.fixture
async def harness(db_url: str, init_result: InitResult, settings_overrides: dict[str, Any]) -> AsyncIterator[Harness]:
    settings = make_settings(db_url, **settings_overrides)
    seed = replace(init_result, url=settings.base_url)
    tocsin = Tocsin(settings, start_worker=False)
    transport = httpx.ASGITransport(app=tocsin)
    async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
        yield Harness(tocsin, client, seed, db_url)
    await tocsin.committer.close()
    await tocsin.db.dispose()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order test files are handed to pytest-xdist's workers (``--dist loadfile``; its own
    reordering is off in pyproject): files that start real server processes (marked ``e2e``, the
    slowest per test) first, a directory's together (they share servers), then the rest by number
    of tests, most first, as xdist would. Left to xdist, the files with a few slow tests came last
    and one worker finished them alone.

    A stable sort by file: each file's tests keep their order."""
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    counts = Counter(file_of(item) for item in items)
    spawning = {file_of(item) for item in items if item.get_closest_marker("e2e") is not None}
    def key(item: pytest.Item) -> tuple[bool, str, int]:
        file = file_of(item)
        return file not in spawning, file.rpartition("/")[0] if file in spawning else "", -counts[file]

    items.sort(key=key)
