"""Real HTTP(S) receivers for the outbound tests: a few lines of asyncio serving HTTP/1.1 on a
loopback address, recording every request (and, over TLS, the SNI name the client sent). Their
certificates: tests/certificates.py."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    host: str
    port: int
    scheme: str
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)

    def url(self, host: str | None = None, path: str = "/hook") -> str:
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{self.scheme}://{name}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.seen.append(Seen(method, target, headers, body))
        reason = {200: "OK", 302: "Found"}.get(self.status, "Answer")
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        writer.write(f"HTTP/1.1 {self.status} {reason}\r\n{extra}content-length: 2\r\nconnection: close\r\n\r\nok"
                     .encode("latin-1"))
        await writer.drain()
        writer.close()


@asynccontextmanager
async def receiving(host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None, status: int = 200,
                    headers: list[tuple[str, str]] | None = None) -> AsyncIterator[Receiver]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    receiver = Receiver(host, sock.getsockname()[1], "https" if tls else "http", status, headers or [])
    if tls is not None:
        tls.sni_callback = lambda _obj, name, _ctx: receiver.sni.append(name)
    server = await asyncio.start_server(receiver._serve, sock=sock, ssl=tls)
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
