"""A throwaway TLS certificate for 127.0.0.1, so clients that insist on https (the PyPI
``pagerduty`` client refuses any other scheme) can talk to the test double with verification on.

Made once per process with the ``openssl`` command (an EC key: fast), in a temporary directory
removed at exit. Clients trust exactly this certificate (``ssl_context()``, or the ``certfile``
path for tools that take a CA file).
"""

from __future__ import annotations

import atexit
import shutil
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path


class TlsUnavailable(RuntimeError):
    """No certificate could be made (no ``openssl`` command): the double serves plain HTTP only."""


@dataclass(frozen=True)
class Certificate:
    certfile: Path
    keyfile: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context trusting only this certificate (host name checked too)."""
        return ssl.create_default_context(cafile=str(self.certfile))


_lock = threading.Lock()
_made: Certificate | TlsUnavailable | None = None


def _make(directory: Path) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsUnavailable("the openssl command is not installed, so no https listener can be offered")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE", "-days", "2",
         "-keyout", str(keyfile), "-out", str(certfile)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        raise TlsUnavailable(f"openssl could not make a certificate: {result.stderr.strip()}")
    return Certificate(certfile, keyfile)


def certificate() -> Certificate:
    """This process's certificate (made on first use); raises ``TlsUnavailable``."""
    global _made
    with _lock:
        if _made is None:
            directory = Path(tempfile.mkdtemp(prefix="tocsin-tls-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            try:
                _made = _make(directory)
            except TlsUnavailable as exc:
                _made = exc
        if isinstance(_made, TlsUnavailable):
            raise _made
        return _made
