"""Showing a configuration plan (diff-like lines) and what applying it did (a table), for
``tocsin apply`` and ``tocsin import``."""

from __future__ import annotations

from tocsin.cli.output import Column, Output
from tocsin.config_as_code.applier import Outcome
from tocsin.config_as_code.plan import Plan, render


def show_plan(out: Output, result: Plan, to_stdout: bool) -> None:
    lines = render(result)
    if to_stdout:
        out.lines(lines)
    else:
        for line in lines:
            out.note(line)


def show_outcomes(out: Output, outcomes: list[Outcome]) -> None:
    rows = [{"object": f"{o.change.title} {o.change.key}", "action": o.change.action,
             "result": o.message if o.ok else f"FAILED: {o.message}", "notes": "; ".join(o.notes)}
            for o in outcomes]
    columns = [Column("object", "Object", lambda r: r["object"]), Column("action", "Action", lambda r: r["action"]),
               Column("result", "Result", lambda r: r["result"])]
    if any(r["notes"] for r in rows):
        columns.append(Column("notes", "Notes", lambda r: r["notes"]))
    out.table(rows, columns)
