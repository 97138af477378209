"""Audit records as PagerDuty's AuditRecord JSON."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from tocsin.audit.models import AuditRecord
from tocsin.http.refs import collection, reference

# Actor reference types that are also REST resources (and so get self/html_url links).
_ACTOR_KINDS = {"user_reference": "user", "api_key_reference": "api_key"}


def _actor(base: str, row: AuditRecord) -> dict[str, Any]:
    kind = _ACTOR_KINDS.get(row.actor_type)
    if kind is not None:
        return reference(base, kind, row.actor_id, row.actor_summary)
    return {"id": row.actor_id, "type": row.actor_type, "summary": row.actor_summary}


def record_json(base: str, row: AuditRecord) -> dict[str, Any]:
    root = reference(base, row.root_type, row.root_id, row.root_summary)
    resource = root
    if row.detail_type is not None and row.detail_id is not None:
        parent = f"{collection(row.root_type)}/{row.root_id}"
        resource = reference(base, row.detail_type, row.detail_id, row.detail_summary or "", parent=parent)
    at = row.execution_time.astimezone(UTC)
    return {
        "id": row.id,
        "self": None,
        # Millisecond precision, as PagerDuty writes execution_time.
        "execution_time": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "execution_context": {"request_id": row.request_id, "remote_address": row.remote_address},
        "actors": [_actor(base, row)],
        "method": {"type": row.method_type, "truncated_token": row.truncated_token, "description": None},
        "root_resource": root,
        "action": row.action,
        "details": {"resource": resource, "fields": list(row.fields or [])},
    }


def page_json(base: str, rows: list[AuditRecord], limit: int, next_cursor: str | None) -> dict[str, Any]:
    return {
        "records": [record_json(base, r) for r in rows],
        "response_metadata": None,
        "limit": limit,
        "next_cursor": next_cursor,
    }
