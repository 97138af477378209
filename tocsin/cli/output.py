"""What the REST commands print: Rich tables by default, JSON with ``--json``, bare ids with
``--pipe``; errors with a hint on stderr; progress bars on stderr while long work runs.

stdout carries only the result (a table, JSON, ids), so it can be piped; messages, errors and
progress go to stderr. Progress bars show only on a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


class UsageProblem(Exception):
    """The command was asked for something it cannot do (exit 2); the message says why."""


@dataclass(frozen=True)
class Column:
    name: str  # what --columns takes
    header: str
    get: Callable[[dict[str, Any]], Any]


def choose(columns: Sequence[Column], wanted: str | None, default: Sequence[str]) -> list[Column]:
    """The columns ``--columns a,b,c`` names (in that order), else the default ones."""
    by_name = {c.name: c for c in columns}
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(default)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageProblem(f"unknown column(s) {', '.join(unknown)}; choose from: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("summary") or value.get("name") or value.get("id") or "")
    return str(value)


def local_time(value: Any, zone: tzinfo) -> str:
    """An ISO 8601 stamp from the API shown in the terminal's zone, to the minute."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if parsed.tzinfo is None:
        return str(value)
    return parsed.astimezone(zone).strftime("%Y-%m-%d %H:%M")


class Output:
    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json
        # Piped or redirected, a table is not wrapped to 80 columns (grep and less see whole rows);
        # COLUMNS still wins, as on a terminal.
        wide = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 250
        self.out = Console(file=sys.stdout, highlight=False, soft_wrap=False, width=wide)
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True)

    def json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def ids(self, ids: Iterable[str]) -> None:
        for item in ids:
            sys.stdout.write(f"{item}\n")
        sys.stdout.flush()

    def lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            sys.stdout.write(f"{line}\n")
        sys.stdout.flush()

    def table(self, rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str | None = None,
              to_stderr: bool = False) -> None:
        if not rows:
            self.note("(none)")
            return
        table = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
        for column in columns:
            table.add_column(column.header, overflow="fold")
        for row in rows:
            table.add_row(*(text(column.get(row)) for column in columns))
        (self.err if to_stderr else self.out).print(table, markup=False)

    def listing(self, rows: Sequence[dict[str, Any]], columns: Sequence[Column], pipe: bool) -> None:
        """A list command's result: JSON with ``--json``, the rows' ids with ``--pipe``, else a table."""
        if self.as_json:
            self.json(rows)
        elif pipe:
            self.ids(row["id"] for row in rows)
        else:
            self.table(rows, columns)

    def record(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """A single object as aligned ``label: value`` lines."""
        width = max((len(label) for label, _ in pairs), default=0)
        self.lines(f"{label + ':':<{width + 1}} {text(value)}" for label, value in pairs)

    def note(self, message: str) -> None:
        """Something for the person at the terminal, not the result (stderr)."""
        self.err.print(message, markup=False, highlight=False)

    def error(self, message: str, details: Sequence[str] = (), hint: str | None = None) -> None:
        style = "red" if self.err.is_terminal else None
        self.err.print(f"error: {message}", markup=False, highlight=False, style=style)
        for detail in details:
            self.err.print(f"  - {detail}", markup=False, highlight=False)
        if hint:
            self.err.print(f"hint: {hint}", markup=False, highlight=False)

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr (only on a terminal); yields ``advance(n)``."""
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=self.err, transient=True, disable=not self.err.is_terminal)
        with bar:
            task = bar.add_task(description, total=total)

            def advance(n: int = 1) -> None:
                bar.advance(task, n)

            yield advance
