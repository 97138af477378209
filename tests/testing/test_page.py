"""``GET /dev``'s page escapes what clients sent: it shows bodies from anyone who can reach it."""

from __future__ import annotations

from tocsin.testing.page import render


def test_request_bodies_and_messages_are_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    html = render(now="2030-01-01T00:00:00+00:00", rate=1.0, requests=[{
        "seq": 1, "tocsin_time": "t", "kind": "events", "method": "POST", "path": "/v2/enqueue", "accepted": False,
        "status": 400, "message": hostile, "errors": [hostile], "dedup_key": hostile, "body": {"summary": hostile},
    }], notifications=[{"sent_at": "t", "channel": "email", "to": "a@example.com", "kind": "incident",
                        "incident_id": "P1", "subject": hostile, "text": hostile}])
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") >= 5
    assert "refused" in html and "a@example.com" in html


def test_an_empty_inspector_says_so() -> None:
    html = render(now="2030-01-01T00:00:00+00:00", rate=60.0, requests=[], notifications=[])
    assert html.count("none yet") == 2 and "60x real time" in html
