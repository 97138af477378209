"""Which fields a change touched, as PagerDuty's audit records list them. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One entry per field that differs: ``name`` with ``before_value`` and/or ``value``.

    A creation (no ``before``) lists every field's ``value``; a deletion (no ``after``) every
    field's ``before_value``; an update only the fields whose values changed.
    """
    before = before or {}
    after = after or {}
    out: list[dict[str, Any]] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if name in before and name in after and old == new:
            continue
        entry: dict[str, Any] = {"name": name}
        if name in before:
            entry["before_value"] = _text(old)
        if name in after:
            entry["value"] = _text(new)
        out.append(entry)
    return out
