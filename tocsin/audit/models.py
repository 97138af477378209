from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class AuditRecord(Base):
    """One configuration change. Rows are only ever inserted, never updated or deleted."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_time_id", "execution_time", "id"),
        Index("ix_audit_records_root", "root_type", "root_id"),
    )
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    execution_time: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(40))  # user_reference | api_key_reference | app_reference
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_summary: Mapped[str] = mapped_column(String(200), default="")
    method_type: Mapped[str] = mapped_column(String(32))  # api_token | oauth | browser | other
    truncated_token: Mapped[str | None] = mapped_column(String(8), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    remote_address: Mapped[str | None] = mapped_column(String(64), default=None)
    root_type: Mapped[str] = mapped_column(String(40))  # e.g. "service", "user", "escalation_policy"
    root_id: Mapped[str] = mapped_column(String(64))
    root_summary: Mapped[str] = mapped_column(String(300), default="")
    # The resource that changed, when it is not the root itself (a user's contact method).
    detail_type: Mapped[str | None] = mapped_column(String(40), default=None)
    detail_id: Mapped[str | None] = mapped_column(String(64), default=None)
    detail_summary: Mapped[str | None] = mapped_column(String(300), default=None)
    action: Mapped[str] = mapped_column(String(32))  # create | update | delete | ...
    fields: Mapped[list[Any]] = mapped_column(default=list)
