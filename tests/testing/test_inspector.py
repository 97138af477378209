"""The inspector's records: secrets masked, both APIs' error shapes read, big bodies not kept."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.testing.inspector import BODY_LIMIT, _content, _headers, _outcome, kind_of, mask


def test_secrets_keep_only_their_last_four_characters() -> None:
    assert mask("R0123456789abcdefghijklmnopqrstu") == "…rstu"
    assert mask("short") == "…"  # too short to show any of it
    headers = _headers([(b"Authorization", b"Token token=abcdefghijklmnop"), (b"From", b"a@example.com")])
    assert headers == {"authorization": "Token …mnop", "from": "a@example.com"}
    body = _content(b'{"routing_key": "abcdefghijklmnop", "payload": {"summary": "s"},'
                    b' "nested": [{"secret": "0123456789xyz"}]}', truncated=False)
    assert body == {"routing_key": "…mnop", "payload": {"summary": "s"}, "nested": [{"secret": "…9xyz"}]}
    form = _content(b"grant_type=client_credentials&client_id=PC1&client_secret=s3cr3t-0123456789",
                    truncated=False, content_type="application/x-www-form-urlencoded")
    assert form == {"grant_type": "client_credentials", "client_id": "PC1", "client_secret": "…6789"}


@pytest.mark.parametrize(("answer", "expected"), [
    ({"status": "invalid event", "message": "Event object is invalid", "errors": ["'payload.summary' is missing"]},
     ("Event object is invalid", ["'payload.summary' is missing"])),
    ({"status": "success", "message": "Event processed", "dedup_key": "k"}, ("Event processed", [])),
    ({"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["title is required"]}},
     ("Invalid Input Provided", ["title is required"])),
    ("not json", (None, [])),
])
def test_the_result_is_read_from_either_apis_answer(answer: Any, expected: tuple[Any, list[str]]) -> None:
    assert _outcome(400, answer) == expected


def test_bodies_past_the_limit_are_not_kept_and_text_stays_text() -> None:
    assert _content(b"x" * (BODY_LIMIT + 1), truncated=True) == f"({BODY_LIMIT + 1}+ bytes, not kept)"
    assert _content(b"plain words", truncated=False) == "plain words"
    assert _content(b"", truncated=False) is None


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("POST", "/v2/enqueue", "events"), ("POST", "/v2/change/enqueue", "events"),
    ("POST", "/generic/2010-04-15/create_event.json", "events"), ("GET", "/v2/enqueue", "events"),
    ("POST", "/incidents", "rest"), ("PUT", "/incidents/P1", "rest"), ("DELETE", "/services/P1", "rest"),
    ("GET", "/incidents", None), ("HEAD", "/services", None),
])
def test_events_and_rest_writes_are_inspected_reads_are_not(method: str, path: str, kind: str | None) -> None:
    assert kind_of({"type": "http", "method": method, "path": path}) == kind
    assert kind_of({"type": "lifespan"}) is None
