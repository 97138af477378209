"""Reading the audit trail: PagerDuty's filters, its time window rules and cursor paging.

Records come newest first, ties broken by id, so a cursor (the last record's time and id) picks
up exactly where the previous page stopped even while new records are being written.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.models import AuditRecord
from tocsin.errors import InvalidInput
from tocsin.http.params import array, optional_datetime, text_filter

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
DEFAULT_WINDOW = timedelta(hours=24)  # since defaults to 24 hours before until
MAX_WINDOW = timedelta(days=31)  # until may be at most 31 days after since

# root_resource_types[] values (PagerDuty's plural names) -> the resource types recorded.
ROOT_TYPES = {
    "users": "user",
    "teams": "team",
    "schedules": "schedule",
    "escalation_policies": "escalation_policy",
    "services": "service",
    "ip_allow_lists": "ip_allow_list",
}
ACTOR_TYPES = ("user_reference", "api_key_reference", "app_reference")
METHOD_TYPES = ("browser", "oauth", "api_token", "identity_provider", "other")
ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class AuditQuery:
    since: datetime
    until: datetime
    limit: int
    after: tuple[datetime, str] | None = None  # the cursor: the last record already returned
    root_types: tuple[str, ...] = ()
    root_id: str | None = None
    actor_type: str | None = None
    actor_id: str | None = None
    method_type: str | None = None
    truncated_token: str | None = None
    actions: tuple[str, ...] = ()


def encode_cursor(at: datetime, record_id: str) -> str:
    raw = json.dumps([at.astimezone(UTC).isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, record_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        # Record ids are short and alphanumeric; a forged one (NUL, megabytes) never reaches SQL.
        if not isinstance(record_id, str) or not (0 < len(record_id) <= 16 and record_id.isascii()
                                                  and record_id.isalnum()) or when.tzinfo is None:
            raise ValueError
        when = when.astimezone(UTC)  # a time outside year 1..9999 in UTC overflows here, not in SQL
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise InvalidInput(errors=["cursor is not a next_cursor this API returned"]) from None
    return when, record_id


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(errors=["limit must be an integer"]) from None
    if value < 1:
        raise InvalidInput(errors=["limit must be positive"])
    return min(value, MAX_LIMIT)  # PagerDuty answers with the smaller of the two


def _one_of(request: Request, name: str, allowed: Iterable[str]) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise InvalidInput(errors=[f"{name} must be one of {', '.join(allowed)}"])
    return value


def _all_of(request: Request, name: str, allowed: Iterable[str]) -> tuple[str, ...]:
    values = array(request, name)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidInput(errors=[f"{name}[] must be among {', '.join(allowed)}; got {bad[0][:50]!r}"])
    return tuple(dict.fromkeys(values))


def window(request: Request, now: datetime) -> tuple[datetime, datetime]:
    """``since``/``until``: until defaults to now, since to 24 hours before until; at most 31 days."""
    until = optional_datetime(request, "until") or now
    since = optional_datetime(request, "since") or until - DEFAULT_WINDOW
    if since > until:
        raise InvalidInput(errors=["since must not be after until"])
    if until - since > MAX_WINDOW:
        raise InvalidInput(errors=["until may be at most 31 days after since"])
    return since, until


def parse_query(request: Request, now: datetime, *, root_type: str | None = None,
                root_id: str | None = None) -> AuditQuery:
    """The query of ``GET /audit/records``, or of one resource's records when ``root_*`` are given
    (those routes take only the paging and window parameters, as PagerDuty's do)."""
    since, until = window(request, now)
    limit = _limit(request)
    cursor = request.query_params.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    if root_type is not None:
        return AuditQuery(since, until, limit, after, (root_type,), root_id)
    actor_type = _one_of(request, "actor_type", ACTOR_TYPES)
    actor_id = text_filter(request, "actor_id")
    if actor_id is not None and actor_type is None:
        raise InvalidInput(errors=["actor_id must be qualified by actor_type"])
    method_type = _one_of(request, "method_type", METHOD_TYPES)
    truncated = text_filter(request, "method_truncated_token")
    if truncated is not None and method_type is None:
        raise InvalidInput(errors=["method_truncated_token must be qualified by method_type"])
    roots = tuple(ROOT_TYPES[r] for r in _all_of(request, "root_resource_types", ROOT_TYPES))
    return AuditQuery(
        since, until, limit, after, roots, None, actor_type, actor_id, method_type, truncated,
        _all_of(request, "actions", ACTIONS),
    )


async def fetch(session: AsyncSession, q: AuditQuery) -> tuple[list[AuditRecord], str | None]:
    """One page of records, newest first, and the cursor of the next page (None at the end)."""
    t = AuditRecord.execution_time
    where = [t >= q.since, t <= q.until]
    if q.root_types:
        where.append(AuditRecord.root_type.in_(q.root_types))
    if q.root_id is not None:
        where.append(AuditRecord.root_id == q.root_id)
    if q.actor_type is not None:
        where.append(AuditRecord.actor_type == q.actor_type)
    if q.actor_id is not None:
        where.append(AuditRecord.actor_id == q.actor_id)
    if q.method_type is not None:
        where.append(AuditRecord.method_type == q.method_type)
    if q.truncated_token is not None:
        where.append(AuditRecord.truncated_token == q.truncated_token)
    if q.actions:
        where.append(AuditRecord.action.in_(q.actions))
    if q.after is not None:
        at, last_id = q.after
        where.append(or_(t < at, and_(t == at, AuditRecord.id < last_id)))
    rows = list((await session.execute(
        select(AuditRecord).where(*where).order_by(t.desc(), AuditRecord.id.desc()).limit(q.limit + 1)
    )).scalars())
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return rows, encode_cursor(rows[-1].execution_time, rows[-1].id) if more else None


async def has_records(session: AsyncSession, root_type: str, root_id: str) -> bool:
    """Whether any record names this resource as its root (so its trail outlives the resource)."""
    found = await session.execute(
        select(AuditRecord.id).where(AuditRecord.root_type == root_type, AuditRecord.root_id == root_id).limit(1)
    )
    return found.first() is not None
