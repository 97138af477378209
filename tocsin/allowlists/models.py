"""The account's IP allow lists (PagerDuty's ``ip_allow_list``, with Tocsin's ``applies_to``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, IdColumn


class IpAllowList(Base):
    """One list: while ``state`` is enabled, the surfaces in ``applies_to`` (``rest_api``,
    ``events_api``; at most one list per surface) admit only addresses in ``cidr_entries``.
    Deleting a list removes the row; its audit records stay."""

    __tablename__ = "ip_allow_lists"
    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # enabled | disabled
    applies_to: Mapped[list[Any]]  # surface names, sorted
    cidr_entries: Mapped[list[Any]]  # [{"cidr": "192.0.2.0/24", "description": "Office VPN"}], normalised CIDRs
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
