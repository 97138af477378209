"""A real SMTP server (aiosmtpd) in a process of its own, for benchmarks that measure Tocsin's CPU:
run in the benchmark's own process, its parsing of large bundled emails counted as Tocsin's.

``python bench/smtp_sink.py PORT``: accepts every message on 127.0.0.1:PORT, prints ``ready`` once
listening, and on end of standard input prints how many messages it accepted and exits.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages += 1
        return "250 OK"


class SinkProcess:
    """The sink started as a child process (the benchmark's side)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process = subprocess.Popen([sys.executable, __file__, str(port)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> int:
        """End the sink; how many messages it accepted."""
        out, _ = self.process.communicate("", timeout=30)
        return int(out.strip() or 0)


def main() -> None:
    counter = Counter()
    server = Controller(counter, hostname="127.0.0.1", port=int(sys.argv[1]))
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the benchmark closes our standard input
    server.stop()
    print(counter.messages, flush=True)


if __name__ == "__main__":
    main()
