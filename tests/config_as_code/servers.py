"""Fresh Tocsin servers for tests that need an account of their own (an import's source and
target, a round trip's two sides): ``tocsin init --json`` then ``tocsin serve`` as processes on
temporary SQLite files, started by the CLI tests' helper."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.cli.conftest import Server, _start


@contextlib.contextmanager
def fresh_server(workdir: Path) -> Iterator[Server]:
    workdir.mkdir(parents=True, exist_ok=True)
    yield from _start("sqlite", f"sqlite:///{workdir / 'tocsin.db'}", workdir)
