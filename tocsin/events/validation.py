"""Validation and normalisation of Events API bodies (v2 alert events, v2 change events, v1
generic events): the one import for the endpoint. Pure and I/O-free: every validator takes the
already-parsed JSON value and returns ``(event, [])`` or ``(None, errors)``. Nothing here raises
on any JSON value. The validators live in ``alert_validation``, ``change_validation`` and
``v1_validation``; the field readers and messages they share in ``event_fields``.

Error strings follow the wording PagerDuty's Events API is seen to return, so that clients
logging or matching them see familiar text. Where PagerDuty's exact wording is unknown the
string follows the same pattern: the field in quotes, then the rule that failed.

Choices made where PagerDuty's behaviour is not pinned down:

* JSON ``null`` for an optional field means "absent"; a whitespace-only optional string is
  treated as absent too (``None``). A trigger's blank ``dedup_key`` is therefore ``None`` and
  the caller generates one.
* Required strings are kept exactly as given (not stripped); lengths count code points.
* ``custom_details`` / v1 ``details`` may be any JSON value nested at most
  ``MAX_NESTING_DEPTH`` (100) levels deep, and are passed through untouched. Deeper values are
  refused: they could never be stored and answered (the JSON encoders stop near 250 levels).
* For acknowledge/resolve the payload and the trigger-only fields (``client``,
  ``client_url``, ``links``, ``images``; v1 ``contexts``) are ignored, not validated.
* ``payload.timestamp`` is ISO 8601 (``Z``, ``+hh:mm``, ``+hhmm`` or no offset, which means
  UTC). An offset followed by a stray ``Z`` (``...+00:00Z``, produced by a known client's
  ``isoformat() + "Z"``) is accepted. A blank timestamp counts as absent.
* v1 has no severity or source: a v1 trigger gets severity ``'error'`` and its source is its
  ``client`` (when given) or ``'unknown'``; v1 acknowledge/resolve get ``None`` for both, the
  same as v2 acknowledge/resolve.
"""
from __future__ import annotations

from typing import Any

from tocsin.events.alert_validation import validate_alert_event
from tocsin.events.change_validation import validate_change_event
from tocsin.events.event_fields import NOT_AN_OBJECT, ParsedEvent
from tocsin.events.v1_validation import validate_v1_event
from tocsin.jsondepth import nests_deeper_than

__all__ = [
    "MAX_BODY_BYTES", "MAX_BODY_DEPTH", "NOT_AN_OBJECT", "ParsedEvent", "body_depth_errors",
    "validate_alert_event", "validate_change_event", "validate_v1_event",
]

MAX_BODY_BYTES = 512 * 1024


# A bound on the whole body (orjson parses up to 1,024 levels), checked before anything walks it
# recursively (NUL stripping recurses once per level, and Python stops near 1,000); its
# free-form parts have their own, lower limit and their own message.
MAX_BODY_DEPTH = 512


def body_depth_errors(obj: Any) -> list[str]:
    """The error for a body nested deeper than ``MAX_BODY_DEPTH`` (checked before anything
    walks the body recursively), or none."""
    if nests_deeper_than(obj, MAX_BODY_DEPTH):
        return [f"Event object is nested too deeply (at most {MAX_BODY_DEPTH} levels)"]
    return []
