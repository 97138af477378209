"""Real servers for the channel tests: an SMTP server (aiosmtpd) and a local HTTP server playing
Twilio's REST API (uvicorn in a thread), both on 127.0.0.1 with free ports.

Each can be told to answer the next requests with a failure (``replies`` / ``failures``) before
it goes back to accepting, so tests see retries against real sockets.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-secret-token"
TWILIO_FROM = "+15005550006"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMTP -------------------------------------------------------------------------------------

@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every accepted message. ``replies``: SMTP replies to give the
    next DATA commands instead of accepting (e.g. "451 4.3.0 try later")."""

    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    refused_recipients: dict[str, str] = field(default_factory=dict)  # address -> reply to RCPT

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.replies:
            return self.replies.pop(0)
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


def start_smtp(inbox: Inbox, **smtp_options: Any) -> tuple[Controller, SmtpServer]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, inbox)


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp(Inbox())
    try:
        yield server
    finally:
        controller.stop()


# --- Twilio -----------------------------------------------------------------------------------

@dataclass
class TwilioRequest:
    path: str
    authorization: str | None
    form: dict[str, str]


@dataclass
class TwilioDouble:
    """Answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``Calls.json`` as Twilio does:
    basic auth checked (401 with Twilio's error body otherwise), 201 with a sid and status.
    ``failures``: (status, body) answers to give the next requests instead."""

    requests: list[TwilioRequest] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    url: str = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        request = TwilioRequest(scope["path"], headers.get("authorization"), form)
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        status, answer = self._answer(scope, request)
        payload = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, scope: dict[str, Any], request: TwilioRequest) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if request.authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        prefix = f"/2010-04-01/Accounts/{TWILIO_SID}/"
        if scope["method"] != "POST" or request.path not in (prefix + "Messages.json", prefix + "Calls.json"):
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        if self.failures:
            return self.failures.pop(0)
        calls = request.path.endswith("Calls.json")
        number = sum(1 for r in self.requests if r.path == request.path)
        return 201, {"sid": f"{'CA' if calls else 'SM'}{number:032d}", "status": "queued",
                     "to": request.form.get("To"), "from": request.form.get("From")}


@contextmanager
def running_twilio() -> Iterator[TwilioDouble]:
    double = TwilioDouble()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    double.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(double, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the Twilio double did not start"
        time.sleep(0.01)
    try:
        yield double
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
