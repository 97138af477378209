"""``include[]``: one rule for every route that takes it.

Each route keeps, next to itself, the tuple of values PagerDuty documents for that operation
(a test compares every tuple with PagerDuty's OpenAPI enum, so drift is caught). A documented
value is always accepted: Tocsin expands it where it has the data and otherwise ignores it, as a
client written against PagerDuty (``pd service list`` sends ``auto_pause_notifications_parameters``)
must work unchanged. A value PagerDuty does not document for the operation is refused with a 400:
the published enum is the contract, and a typo should be seen rather than silently do nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request

from tocsin.errors import InvalidInput
from tocsin.http.params import array


def asked(request: Request, documented: Collection[str], supported: Collection[str] | None = None) -> frozenset[str]:
    """The ``include[]`` values asked for that this route expands (``supported``, by default every
    documented value); documented values Tocsin cannot expand are dropped, undocumented ones refused."""
    wanted = frozenset(array(request, "include"))
    if unknown := sorted(wanted.difference(documented)):
        shown = ", ".join(documented) if documented else "none"
        raise InvalidInput(errors=[f"include[] {_echo(unknown)} is not supported here (values: {shown})"])
    return wanted if supported is None else wanted.intersection(supported)


# The refusal names what was wrong, but a request is not a way to make the answer large: a few
# values, each clipped, then how many more (40,000 values once made a 270 KB error).
_ECHOED_VALUES = 5
_ECHOED_LENGTH = 40


def _echo(unknown: list[str]) -> str:
    shown = [v if len(v) <= _ECHOED_LENGTH else v[:_ECHOED_LENGTH] + "…" for v in unknown[:_ECHOED_VALUES]]
    rest = len(unknown) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")
