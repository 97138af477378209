"""A real SMTP server (aiosmtpd) in a process of its own, for benchmarks that measure Tocsin's CPU:
run in the benchmark's own process, its parsing of large bundled emails counted as Tocsin's.

``python bench/smtp_sink.py PORT``: accepts every message on 127.0.0.1:PORT (``common.
CountingMailbox``), prints ``ready`` once listening, and on end of standard input prints one JSON
line (messages and SMTP sessions accepted, its own CPU seconds) and exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from aiosmtpd.controller import Controller
from common import CountingMailbox  # bench/ is the script's directory


class SinkProcess:
    """The sink started as a child process (the benchmark's side)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: dict[str, Any] = {}  # what the sink reported when it stopped
        self.process = subprocess.Popen([sys.executable, __file__, str(port)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> int:
        """End the sink; how many messages it accepted (``seen``: everything it reported)."""
        out, _ = self.process.communicate("", timeout=30)  # closing stdin tells it to stop
        lines = out.strip().splitlines()
        self.seen = json.loads(lines[-1]) if lines else {"messages": 0, "sessions": 0, "cpu_s": 0.0}
        return int(self.seen["messages"])


def main() -> None:
    mailbox = CountingMailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=int(sys.argv[1]))
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the benchmark closes our standard input
    server.stop()
    print(json.dumps({"messages": mailbox.messages, "sessions": mailbox.sessions, "cpu_s": time.process_time()}),
          flush=True)


if __name__ == "__main__":
    main()
