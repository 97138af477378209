"""A real Tocsin served in-process: the app ``tocsin serve`` builds, on its own event loop in a
background thread, over HTTP and (for clients that insist on it) HTTPS on free ports.

Why a thread: the test using it may be synchronous or run its own event loop; the server's loop
is independent of both, and helpers reach it through ``call``/``acall``. Why the real app and
uvicorn rather than an ASGI transport: the integration under test speaks HTTP to a URL, as it
would to PagerDuty, in any client library.

The database is a copy of a seeded SQLite template made once per process (migrations and seeding
take a second; a copy takes milliseconds), in a temporary directory removed at ``stop``. The
clock is a ``FrozenClock`` (tests move it), notifications are captured, rate limits are off
unless a setting says otherwise.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import shutil
import socket
import tempfile
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from tocsin.api.app import Tocsin
from tocsin.clock import FrozenClock
from tocsin.config import Settings
from tocsin.testing.devapp import DevApp
from tocsin.testing.seed import Seed, seed
from tocsin.testing.tls import Certificate, TlsUnavailable, certificate

T = TypeVar("T")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

_template_lock = threading.Lock()
_template: tuple[Path, Seed] | None = None


def _in_own_loop(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` to completion on a fresh loop in a fresh thread (the caller may have a loop)."""
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(asyncio.run(_coroutine(work)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            done.set_exception(exc)

    threading.Thread(target=run, name="tocsin-seed", daemon=True).start()
    return done.result(START_TIMEOUT)


def seeded_template() -> tuple[Path, Seed]:
    """This process's migrated and seeded database file (made on first use), and its seed."""
    global _template
    with _template_lock:
        if _template is None:
            directory = Path(tempfile.mkdtemp(prefix="tocsin-template-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            path = directory / "template.db"
            found = _in_own_loop(lambda: seed(f"sqlite:///{path}"))
            _template = (path, found)
        return _template


def _listening_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    return sock


class InProcessTocsin:
    """Start with ``start()``, stop with ``stop()``; ``call``/``acall`` run coroutines on its loop."""

    def __init__(self, *, tls: bool = True, start_at: datetime | None = None, **settings: Any) -> None:
        self._want_tls = tls
        self._start_at = start_at
        self._settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._directory: Path | None = None
        self.seed: Seed | None = None
        self.tocsin: Tocsin | None = None
        self.app: DevApp | None = None
        self.clock: FrozenClock | None = None
        self.url = ""
        self.https_url: str | None = None
        self.certificate: Certificate | None = None
        self.tls_problem: str | None = None

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        template, self.seed = seeded_template()
        self._directory = Path(tempfile.mkdtemp(prefix="tocsin-double-"))
        shutil.copy(template, self._directory / "tocsin.db")
        if self._want_tls:
            try:
                self.certificate = certificate()
            except TlsUnavailable as exc:
                self.tls_problem = str(exc)
        self._thread = threading.Thread(target=self._run, name="tocsin-double", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the in-process Tocsin did not start within {START_TIMEOUT:.0f} s")
        if self._error is not None:
            self.stop()
            raise RuntimeError("the in-process Tocsin could not start") from self._error

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - start() raises it (uvicorn may even sys.exit)
            self._error = self._error or exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        assert self._directory is not None
        plain = _listening_socket("127.0.0.1")
        sockets = [plain]
        self.url = f"http://127.0.0.1:{plain.getsockname()[1]}"
        secure = _listening_socket("127.0.0.1") if self.certificate is not None else None
        if secure is not None:
            sockets.append(secure)
            self.https_url = f"https://127.0.0.1:{secure.getsockname()[1]}"
        try:
            await self._serve(plain, secure)
        finally:
            for sock in sockets:
                sock.close()

    async def _serve(self, plain: socket.socket, secure: socket.socket | None) -> None:
        assert self._directory is not None and self._stopping is not None
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{self._directory / 'tocsin.db'}", "public_url": self.url,
            "capture_notifications": True, "events_rate_limit": 0, "rest_rate_limit": 0, "log_level": "warning",
            **self._settings,
        }
        tocsin = Tocsin(Settings(**values))
        self.clock = FrozenClock(self._start_at or datetime.now(UTC))
        tocsin.runtime.clock = self.clock
        self.tocsin, self.app = tocsin, DevApp(tocsin, self.clock)
        servers = [uvicorn.Server(self._config(self.app))]
        if secure is not None and self.certificate is not None:
            servers.append(uvicorn.Server(self._config(
                self.app, ssl_certfile=str(self.certificate.certfile), ssl_keyfile=str(self.certificate.keyfile))))
        frozen_before = gc.get_freeze_count()
        # The app's own lifespan (engine, inbox worker, retention), run here rather than by uvicorn
        # so a failure to start is raised, not logged and turned into an exit.
        async with tocsin.rest.router.lifespan_context(tocsin.rest):
            if not frozen_before:
                gc.unfreeze()  # the server froze what it built: right for a server, not for a test run
            listening = [plain] if secure is None else [plain, secure]
            tasks = [asyncio.create_task(server.serve(sockets=[sock]))
                     for server, sock in zip(servers, listening, strict=True)]
            try:
                while not all(server.started for server in servers):
                    if any(task.done() for task in tasks):
                        raise RuntimeError("a listener stopped during start-up")
                    await asyncio.sleep(0.01)
                self._ready.set()
                await self._stopping.wait()
            finally:
                for server in servers:
                    server.should_exit = True
                await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    def _config(app: DevApp, **tls: Any) -> uvicorn.Config:
        # log_config=None: leave the test process's logging alone.
        return uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False,
                              timeout_graceful_shutdown=2, **tls)

    # --- reaching the loop -------------------------------------------------------------------

    def call(self, work: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        """Run ``work()`` on the server's loop and wait for its result (from any other thread)."""
        if self._loop is None:
            raise RuntimeError("the in-process Tocsin is not running")
        return asyncio.run_coroutine_threadsafe(_coroutine(work), self._loop).result(timeout)

    async def acall(self, work: Callable[[], Awaitable[T]]) -> T:
        """``call`` for async code: awaits without blocking the caller's loop."""
        if self._loop is None:
            raise RuntimeError("the in-process Tocsin is not running")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_coroutine(work), self._loop))


async def _coroutine(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
