"""How deeply JSON values nest, and a bounded copy of one that nests too deeply. Pure.

Answers embed stored values a few levels down (an alert's ``body.cef_details.details`` inside
``{"alerts": [...]}``), and the JSON encoders refuse values nested past about 250 levels. So
Tocsin refuses free-form JSON nested deeper than ``MAX_NESTING_DEPTH`` at the door, and every
read of a stored JSON column replaces anything deeper than ``MAX_STORED_DEPTH`` (only an older
version could have stored it) with ``TOO_DEEP_MARKER``, so one stored value can never make a
whole list unreadable.

Depth counts containers: a string or number is 0 deep, ``[]`` and ``{"a": 1}`` are 1 deep,
``[[1]]`` is 2 deep.
"""

from __future__ import annotations

from typing import Any

MAX_NESTING_DEPTH = 100
# A stored column holds an accepted value a few levels down (an alert's body, an inbox payload);
# anything past this margin was stored before the limit existed. 128 + the deepest answer's own
# nesting (under 20) stays far below the encoders' limits.
MAX_STORED_DEPTH = 128
TOO_DEEP_MARKER = f"[value nested deeper than {MAX_STORED_DEPTH} levels: not shown]"


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` has containers nested more than ``limit`` deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def bounded(value: Any, limit: int = MAX_STORED_DEPTH, marker: str = TOO_DEEP_MARKER) -> Any:
    """A copy of ``value`` in which every container that would sit deeper than ``limit`` is
    replaced by ``marker``. Recursion stops at ``limit``, so it is bounded too."""
    if not isinstance(value, (dict, list)):
        return value
    if limit <= 0:
        return marker
    if isinstance(value, dict):
        return {key: bounded(child, limit - 1, marker) for key, child in value.items()}
    return [bounded(child, limit - 1, marker) for child in value]
