"""End-to-end harness: a real Tocsin server process behind TLS, driven by the official client.

The PyPI ``pagerduty`` client refuses non-https base URLs, so the server is started by a tiny
launcher (``uvicorn.run(create_app(Settings()), ssl_keyfile=..., ssl_certfile=...)``) with a
throwaway self-signed certificate for ``127.0.0.1``/``localhost``. The clients trust exactly that
certificate: they get ``verify=ssl.create_default_context(cafile=<cert>)``, passed through the
client's ``**kw`` to its ``httpx2.Client`` base class. Verification stays on.

``tls_server`` is parametrised: once on SQLite (a file in a temp dir), once on a fresh PostgreSQL
database ``tocsin_e2e_<random>`` that is dropped afterwards; each server is shared by the e2e
modules run one after the other. PostgreSQL comes from ``TOCSIN_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); when it is unreachable the PostgreSQL run is
skipped with the reason, except in CI (``CI`` set), where it fails instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pagerduty
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL, pg_admin, require_postgres

PROJECT_ROOT = Path(__file__).resolve().parents[2]

STARTUP_TIMEOUT = 20.0  # seconds for the server to answer /health over TLS
INIT_TIMEOUT = 60.0

# Run in the server subprocess as ``python -c LAUNCHER <port> <keyfile> <certfile>``; the rest of
# the configuration comes from the TOCSIN_* environment, exactly as ``tocsin serve`` reads it.
LAUNCHER = """
import sys
import uvicorn
from tocsin.api.app import create_app
from tocsin.config import Settings

port, keyfile, certfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
uvicorn.run(
    create_app(Settings()), host="127.0.0.1", port=port, ssl_keyfile=keyfile, ssl_certfile=certfile,
    loop="uvloop", http="httptools", lifespan="on", log_level="warning",
)
"""


# --------------------------------------------------------------------------- certificate


@dataclass(frozen=True)
class Certificate:
    certfile: Path
    keyfile: Path

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this certificate (hostname checked too)."""
        return ssl.create_default_context(cafile=str(self.certfile))


def _cert_with_cryptography(directory: Path) -> Certificate:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Certificate(certfile, keyfile)


def _cert_with_openssl(directory: Path) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the 'cryptography' package nor the 'openssl' CLI is available to make a TLS certificate")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1",
         "-keyout", str(keyfile), "-out", str(certfile)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"openssl could not make a self-signed certificate:\n{result.stderr}")
    return Certificate(certfile, keyfile)


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    directory = tmp_path_factory.mktemp("tls")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _cert_with_openssl(directory)
    return _cert_with_cryptography(directory)


# --------------------------------------------------------------------------- PostgreSQL


def _fresh_pg_database() -> tuple[str, str]:
    """Create ``tocsin_e2e_<random>``; returns (name, SQLAlchemy URL). Skips or fails if unreachable."""
    require_postgres()
    name = f"tocsin_e2e_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


# --------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TlsServer:
    """A running Tocsin process and what ``tocsin init --json`` printed for it."""

    backend: str
    url: str
    api_key: str
    admin_email: str
    service_id: str
    integration_key: str
    cert: Certificate
    log_path: Path
    process: subprocess.Popen[bytes]
    _clients: list[Any] = field(default_factory=list)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(server log unreadable: {exc})"

    def rest(self, api_key: str | None = None, **kw: Any) -> pagerduty.RestApiV2Client:
        """The official REST client pointed at this server, trusting its certificate."""
        client = pagerduty.RestApiV2Client(
            self.api_key if api_key is None else api_key, default_from=self.admin_email,
            base_url=self.url, verify=self.cert.client_context(), **kw,
        )
        self._clients.append(client)
        return client

    def events(self, routing_key: str | None = None, **kw: Any) -> pagerduty.EventsApiV2Client:
        """The official Events API v2 client pointed at this server, trusting its certificate."""
        client = pagerduty.EventsApiV2Client(
            self.integration_key if routing_key is None else routing_key,
            base_url=self.url, verify=self.cert.client_context(), **kw,
        )
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def _tocsin_env(db_url: str, port: int, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(
        TOCSIN_DATABASE_URL=db_url,
        TOCSIN_HOST="127.0.0.1",
        TOCSIN_PORT=str(port),
        TOCSIN_PUBLIC_URL=url,  # so every ``self`` link is an https URL the client accepts
        TOCSIN_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, cert: Certificate, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no attempt"
    with httpx.Client(verify=cert.client_context(), timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"Tocsin exited with code {process.returncode} during startup; log:\n"
                            f"{log_path.read_text(errors='replace')}")
            try:
                response = client.get(f"{url}/health")
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
    _stop(process)
    pytest.fail(f"Tocsin did not answer {url}/health within {STARTUP_TIMEOUT:.0f} s (last: {last}); log:\n"
                f"{log_path.read_text(errors='replace')}")


def _tls_server(backend: str, tls_cert: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    workdir = tmp_path_factory.mktemp(f"e2e_{backend}")
    pg_name: str | None = None
    if backend == "sqlite":
        db_url = f"sqlite:///{workdir / 'tocsin.db'}"
    else:
        pg_name, db_url = _fresh_pg_database()
    process: subprocess.Popen[bytes] | None = None
    server: TlsServer | None = None
    try:
        port = _free_port()
        url = f"https://127.0.0.1:{port}"
        env = _tocsin_env(db_url, port, url)
        init = subprocess.run(
            [sys.executable, "-m", "tocsin", "init", "--json"], env=env, cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=INIT_TIMEOUT, check=False,
        )
        if init.returncode != 0:
            pytest.fail(f"tocsin init failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        seed = json.loads(init.stdout.strip().splitlines()[-1])
        for key in ("url", "api_key", "admin_email", "service_id", "integration_key"):
            assert seed.get(key), f"tocsin init --json lacks {key!r}: {seed}"
        assert seed["url"] == url, f"init reports {seed['url']!r}, expected the public URL {url!r}"

        log_path = workdir / "server.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, str(port), str(tls_cert.keyfile), str(tls_cert.certfile)],
                env=env, cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
            )
        _wait_healthy(process, url, tls_cert, log_path)
        server = TlsServer(
            backend=backend, url=url, api_key=seed["api_key"], admin_email=seed["admin_email"],
            service_id=seed["service_id"], integration_key=seed["integration_key"], cert=tls_cert,
            log_path=log_path, process=process,
        )
        yield server
        if process.poll() is not None:
            pytest.fail(f"Tocsin ({backend}) died during the tests with code {process.returncode}; log:\n"
                        f"{server.log()}")
    finally:
        if server is not None:
            server.close_clients()
        if process is not None:
            _stop(process)
        if pg_name is not None:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


# One server of each kind, shared by the e2e modules a worker runs one after the other (each makes
# its own objects, with unique names): starting one (`tocsin init`, then the server) costs seconds
# of CPU. Package-scoped, so it stops once the worker moves on to other tests.
@pytest.fixture(scope="package")
def tls_sqlite_server(tls_cert: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    yield from _tls_server("sqlite", tls_cert, tmp_path_factory)


@pytest.fixture(scope="package")
def tls_pg_server(tls_cert: Certificate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    yield from _tls_server("postgres", tls_cert, tmp_path_factory)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tls_server(request: pytest.FixtureRequest) -> TlsServer:
    """The session's server of each kind, in turn."""
    found = request.getfixturevalue("tls_sqlite_server" if request.param == "sqlite" else "tls_pg_server")
    assert isinstance(found, TlsServer)
    return found


@pytest.fixture(scope="module")
def rest(tls_server: TlsServer) -> pagerduty.RestApiV2Client:
    """Official REST client with the account API key and ``From: <admin email>``."""
    return tls_server.rest()


@pytest.fixture(scope="module")
def events(tls_server: TlsServer) -> pagerduty.EventsApiV2Client:
    """Official Events API v2 client with the demo service's integration key."""
    return tls_server.events()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failing e2e test, attach the server's log to the report (pytest prints it)."""
    report = yield
    server = getattr(item, "funcargs", {}).get("tls_server")
    if report.failed and isinstance(server, TlsServer):
        report.sections.append((f"tocsin server log ({server.backend})", server.log() or "(empty)"))
    return report
