"""Check Tocsin's answers against PagerDuty's own OpenAPI description of each operation.

``assert_conforms(response, "GET", "/incidents/{id}")`` validates the JSON body of ``response``
against the schema PagerDuty publishes for that operation and status code (OpenAPI 3.0, so
``nullable`` is honoured). Extra fields are fine; missing or mistyped required ones fail. One deliberate relaxation: an
optional (not ``required``) property may be null. PagerDuty's live API sends null for empty
optional fields such as an incident's ``priority`` and ``resolved_at``, and clients read them
directly, while the published schema leaves ``nullable`` off many of them.
When ``../shared/pagerduty-api/rest-openapiv3.json`` is absent the test is skipped, saying why.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "pagerduty-api" / "rest-openapiv3.json"


@functools.cache
def _spec() -> dict[str, Any] | None:
    if not SPEC_PATH.exists():
        return None
    return json.loads(SPEC_PATH.read_text())


def spec_or_skip() -> dict[str, Any]:
    spec = _spec()
    if spec is None:
        pytest.skip(f"PagerDuty's REST OpenAPI file is not at {SPEC_PATH}; contract not checked")
    return spec


def _deref(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON schema PagerDuty documents for ``method path`` answering ``status``."""
    spec = spec_or_skip()
    operation = spec["paths"][path][method.lower()]
    responses = operation["responses"]
    answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses["default"]
    answer = _deref(spec, answer)
    return answer["content"]["application/json"]["schema"]


def _without_nulls(node: Any) -> Any:
    """``node`` with every null-valued object member removed (list items are kept).

    Validating this copy accepts null for optional properties (PagerDuty's live API sends null
    for empty optional fields such as an incident's ``priority``; the published schema often
    leaves ``nullable`` off), while a null *required* property still fails, as missing.
    """
    if isinstance(node, list):
        return [_without_nulls(item) for item in node]
    if isinstance(node, dict):
        return {key: _without_nulls(value) for key, value in node.items() if value is not None}
    return node


@functools.cache
def _validator_class() -> type[Any]:
    from openapi_schema_validator import OAS30Validator

    return OAS30Validator


def _expanded_types(node: Any) -> Any:
    """``node`` with every enum of ``*_reference`` types also allowing the type itself.

    With ``include[]``, PagerDuty answers the object itself where its schema shows a reference
    (``"type": "service"`` for a ``service_reference``); the schema does not model that. Where it
    does (``oneOf: [Team, TeamReference]``), an expanded object now matches both branches, so
    ``oneOf`` becomes ``anyOf``."""
    if isinstance(node, list):
        return [_expanded_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {("anyOf" if key == "oneOf" else key): _expanded_types(value) for key, value in node.items()}
    enum = copied.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) and v.endswith("_reference") for v in enum):
        copied["enum"] = [*enum, *(v.removesuffix("_reference") for v in enum)]
    return copied


@functools.cache
def _components(expanded: bool) -> dict[str, Any]:
    components = spec_or_skip()["components"]
    return _expanded_types(components) if expanded else components


def assert_conforms(response: Any, method: str, path: str, status: int | None = None, *,
                    expanded: bool = False) -> None:
    """Fail with every schema violation if ``response`` does not match PagerDuty's contract.

    ``expanded``: the request asked for ``include[]``, so an expanded object may stand where the
    schema shows a reference (its ``type`` without ``_reference``)."""
    status = status if status is not None else response.status_code
    assert response.status_code == status, (response.status_code, response.text[:500])
    schema = dict(response_schema(method, path, status))
    if expanded:
        schema = _expanded_types(schema)
    # Let "#/components/..." references resolve against the whole document.
    schema["components"] = _components(expanded)
    validator = _validator_class()(schema)
    body = response.json()
    errors = []
    if not validator.is_valid(body):  # as sent, or else with optional nulls left out
        errors = sorted(validator.iter_errors(_without_nulls(body)), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:15]]
        pytest.fail(f"{method} {path} answer breaks PagerDuty's schema:\n" + "\n".join(lines))
