"""Throwaway self-signed certificates for tests that serve TLS on loopback (the SMTP server of
the notification tests, the HTTPS receivers of the outbound tests), made with the openssl
command (the test is skipped where it is missing)."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def _san_entry(name: str) -> str:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return f"DNS:{name}"
    return f"IP:{name}"


def make_certificate(folder: Path, *names: str) -> Certificate:
    """A self-signed certificate for ``names`` only (DNS names, or IP addresses such as
    127.0.0.1), the first one also its subject's common name."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    san = ",".join(_san_entry(n) for n in names)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}"],
        check=True, capture_output=True,
    )
    return Certificate(cert, key)
