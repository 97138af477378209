"""``GET /dev``: the inspector as one server-rendered HTML page (no JavaScript).

Pure: JSON-ready records in, HTML out; every value escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2em; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
pre { margin: 0; max-height: 12em; overflow: auto; font-size: 12px; white-space: pre-wrap; }
.refused { background: #fde8e8; } .ok { color: #146c2e; } .bad { color: #a61b1b; font-weight: bold; }
form { display: inline; } input[type=number] { width: 5em; }
"""


def _cell(value: Any) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _json_cell(value: Any) -> str:
    if value is None:
        return "<td></td>"
    return f"<td><pre>{escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre></td>"


def _request_row(r: dict[str, Any]) -> str:
    verdict = ("<span class='ok'>accepted</span>" if r["accepted"]
               else "<span class='bad'>refused</span>")
    why = "<br>".join(escape(e) for e in r["errors"]) or escape(r["message"] or "")
    return (f"<tr class='{'' if r['accepted'] else 'refused'}'>"
            f"{_cell(r['seq'])}{_cell(r['tocsin_time'])}{_cell(r['kind'])}"
            f"<td>{escape(r['method'])} {escape(r['path'])}</td>"
            f"<td>{r['status']} {verdict}<br>{why}</td>{_cell(r['dedup_key'])}{_json_cell(r['body'])}</tr>")


def _notification_row(n: dict[str, Any]) -> str:
    return (f"<tr>{_cell(n['sent_at'])}{_cell(n['channel'])}{_cell(n['to'])}{_cell(n['kind'])}"
            f"{_cell(n['incident_id'])}{_cell(n['subject'])}<td><pre>{escape(n['text'])}</pre></td></tr>")


def render(*, now: str, rate: float, requests: list[dict[str, Any]], notifications: list[dict[str, Any]]) -> str:
    """The page: the clock (with a form to move it on), requests newest first, notifications newest first."""
    request_rows = "".join(_request_row(r) for r in reversed(requests)) or "<tr><td colspan=7>none yet</td></tr>"
    sent_rows = "".join(_notification_row(n) for n in reversed(notifications)) or "<tr><td colspan=7>none yet</td></tr>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tocsin dev: inspector</title><style>{STYLE}</style></head>
<body>
<h1>Tocsin dev</h1>
<p>Tocsin's clock: <strong>{escape(now)}</strong> (running at {rate:g}x real time).
<form method="post" action="/dev/clock/advance">Move it on by
<input type="number" name="minutes" min="0" step="any" value="5"> minutes <button>Advance</button></form>
<a href="/dev">Refresh</a> · JSON: <a href="/dev/requests">/dev/requests</a>,
<a href="/dev/notifications">/dev/notifications</a>, <a href="/dev/clock">/dev/clock</a></p>
<h2>Requests received ({len(requests)})</h2>
<table><tr><th>#</th><th>Tocsin time</th><th>API</th><th>Request</th><th>Result</th><th>Dedup key</th>
<th>Body</th></tr>{request_rows}</table>
<h2>Notifications captured ({len(notifications)})</h2>
<table><tr><th>Sent at</th><th>Channel</th><th>To</th><th>Kind</th><th>Incident</th><th>Subject</th>
<th>Text</th></tr>{sent_rows}</table>
</body></html>
"""
