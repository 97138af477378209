"""What the benchmark scripts share: a free port, the machine a figure was measured on, the
nearest-rank percentile, a scratch PostgreSQL database made afresh, and an SMTP handler that
accepts every message and counts them (bench/smtp_sink.py runs it in a process of its own).

Imported as ``common``: bench/ is the running script's directory (scripts that may be run from
elsewhere put it on sys.path first).
"""
from __future__ import annotations

import os
import platform
import re
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {"platform": platform.platform(), "python": platform.python_version(),
            "nproc": len(os.sched_getaffinity(0)), "cpu_model": m.group(1) if m else "unknown"}


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: a busy box makes slow numbers."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the value at ``q`` (0..1) of the sorted values; ``q=1`` is the largest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def recreate_pg(pg_url: str) -> None:
    """Drop and create the database ``pg_url`` names (a local host and a plain name only)."""
    u = urlsplit(pg_url)
    db = u.path.lstrip("/")
    if not re.fullmatch(r"\w+", db) or u.hostname not in LOCAL_HOSTS:
        sys.exit(f"refusing --pg-url {pg_url!r}: need a local host and a plain database name")
    import asyncpg  # only the PostgreSQL runs need it

    conn = await asyncpg.connect(urlunsplit(u._replace(path="/postgres")), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')  # FORCE: kick stale sessions
        await conn.execute(f'CREATE DATABASE "{db}"')
    finally:
        await conn.close()


@dataclass
class CountingMailbox:
    """An aiosmtpd handler accepting every message: counts SMTP sessions (EHLO/HELO) and
    messages. Tocsin pages by email as in production, and a page that could not be sent would be
    retried and logged, which is not what the benchmarks measure."""

    sessions: int = 0
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages += 1
        return "250 2.0.0 OK"
