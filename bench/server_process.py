"""A spawned ``tocsin serve`` seen from outside: waiting until it answers ``/health``, stopping
it, and what it cost (peak memory, CPU seconds read from Linux's /proc)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx


def wait_health(url: str, proc: subprocess.Popen[bytes]) -> bool:
    for _ in range(150):  # 150 x 0.2 s = 30 s
        if proc.poll() is not None:
            return False  # crashed: no point waiting
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def peak_rss_mb(pid: int | None) -> float | None:
    """VmHWM: the process's peak resident set size since it started."""
    try:
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(m.group(1)) / 1024, 1) if m else None


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def settled_cpu_seconds(pids: list[int], quiet: float = 0.05, limit: float = 120.0) -> float | None:
    """The processes' CPU seconds once they have gone quiet (under ``quiet`` CPU seconds in a
    second): the events accepted are processed and the engine has paged for them."""
    deadline, last = time.monotonic() + limit, cpu_seconds(pids)
    while last is not None and time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pids)
        if now is None or now - last < quiet:
            return now
        last = now
    return last
