"""Assertions shared by the REST tests."""

from __future__ import annotations

from typing import Any


def assert_error(response: Any, status: int, code: int) -> dict[str, Any]:
    """The answer is PagerDuty's error shape with this status and code; returns the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["errors"], list), body
    return error
