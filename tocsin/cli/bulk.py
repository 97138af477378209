"""Acting on many incidents: bulk ``PUT /incidents`` in chunks, one request per incident where no
bulk endpoint exists, a progress bar either way, and one outcome per incident.

``PUT /incidents`` is all or nothing (one bad incident refuses its whole chunk), so a refused
chunk is retried one incident at a time: the good ones are done and each bad one is reported with
the server's own reason. Failures that would fail every request alike (credentials, rate limit
after retries, server down) stop the run instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.cli.output import Column, Output
from tocsin.cli.session import Cli, needs_from
from tocsin.client import ApiError

CHUNK = 25  # incidents per PUT /incidents (PagerDuty takes up to 250; small chunks keep the bar moving)
PER_ITEM = frozenset({400, 404, 409})  # refusals about one incident, not about the request


def about_one(error: ApiError) -> bool:
    """A refusal about this incident (the others may still succeed), not about the request
    itself (credentials, the From header, rate limit, server down: every request would fail)."""
    return error.status in PER_ITEM and not needs_from(error)


@dataclass(frozen=True)
class Outcome:
    id: str
    ok: bool
    message: str
    incident: dict[str, Any] | None = None

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "message": self.message, "incident": self.incident}


def reason(error: ApiError) -> str:
    return "; ".join(error.errors) or error.message


def update(cli: Cli, ids: Sequence[str], change: dict[str, Any], done: str, description: str,
           harmless: Callable[[ApiError], str | None] = lambda e: None) -> list[Outcome]:
    """Apply ``change`` (fields of an incident update) to every incident. ``harmless`` turns a
    refusal that leaves the incident as wanted (already resolved) into an ok message."""
    outcomes: list[Outcome] = []
    with cli.out.progress(len(ids), description) as advance:
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start:start + CHUNK])
            body = {"incidents": [{"id": i, "type": "incident_reference", **change} for i in chunk]}
            try:
                answer = cli.rest.put("/incidents", body)
                outcomes += [Outcome(i["id"], True, done, i) for i in answer.get("incidents", [])]
            except ApiError as exc:
                if not about_one(exc):
                    raise
                for incident_id in chunk:
                    outcomes.append(_one(cli, incident_id, change, done, harmless))
            advance(len(chunk))
    return outcomes


def _one(cli: Cli, incident_id: str, change: dict[str, Any], done: str,
         harmless: Callable[[ApiError], str | None]) -> Outcome:
    try:
        answer = cli.rest.put(f"/incidents/{incident_id}", {"incident": {"type": "incident_reference", **change}})
        return Outcome(incident_id, True, done, answer.get("incident"))
    except ApiError as exc:
        if not about_one(exc):
            raise
        fine = harmless(exc)
        return Outcome(incident_id, fine is not None, fine or reason(exc))


def each(cli: Cli, ids: Sequence[str], act: Callable[[str], dict[str, Any] | None], done: str,
         description: str) -> list[Outcome]:
    """``act`` on every incident in turn (its answer's incident, if any)."""
    outcomes: list[Outcome] = []
    with cli.out.progress(len(ids), description) as advance:
        for incident_id in ids:
            try:
                outcomes.append(Outcome(incident_id, True, done, act(incident_id)))
            except ApiError as exc:
                if not about_one(exc):
                    raise
                outcomes.append(Outcome(incident_id, False, reason(exc)))
            advance(1)
    return outcomes


def show(out: Output, outcomes: Sequence[Outcome], pipe: bool) -> bool:
    """Print the outcomes (JSON, ids done, or a table); whether every one succeeded."""
    if out.as_json:
        out.json([o.json() for o in outcomes])
    elif pipe:
        out.ids(o.id for o in outcomes if o.ok)
        for outcome in outcomes:
            if not outcome.ok:
                out.note(f"{outcome.id}: {outcome.message}")
    else:
        rows = [{"id": o.id, "number": (o.incident or {}).get("incident_number"),
                 "status": (o.incident or {}).get("status"), "result": o.message if o.ok else f"FAILED: {o.message}"}
                for o in outcomes]
        out.table(rows, [Column("id", "ID", lambda r: r["id"]), Column("number", "#", lambda r: r["number"]),
                         Column("status", "Status", lambda r: r["status"]),
                         Column("result", "Result", lambda r: r["result"])])
    failed = sum(1 for o in outcomes if not o.ok)
    if failed:
        out.note(f"{failed} of {len(outcomes)} failed")
    return failed == 0
