"""A spawned ``tocsin serve`` seen from outside: initialising its database and starting it,
waiting until it answers ``/health``, stopping it, and what it cost (peak memory, CPU seconds read
from Linux's /proc)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def initialise(env: dict[str, str], repo: Path) -> dict[str, Any]:
    """``tocsin init --json`` (cwd ``repo``: ``python -m`` then imports that checkout's tocsin even if
    it isn't installed): the credentials it printed; the script ends if it fails."""
    init = subprocess.run([sys.executable, "-m", "tocsin", "init", "--json"], check=False, env=env, cwd=repo,
                          capture_output=True, text=True, timeout=120)
    if init.returncode != 0 or "{" not in init.stdout:
        sys.exit(f"tocsin init failed ({init.returncode}):\n{(init.stderr or init.stdout)[-2000:]}")
    creds, _ = json.JSONDecoder().raw_decode(init.stdout[init.stdout.index("{"):])  # tolerate log lines
    return dict(creds)


def start(env: dict[str, str], repo: Path, log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """``tocsin <args>`` (e.g. ``serve``), its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "tocsin", *args], env=env, cwd=repo, stdout=log,
                                stderr=subprocess.STDOUT)


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
