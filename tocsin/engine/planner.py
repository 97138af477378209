"""PLACEHOLDER until the escalation work merges (it owns this module and replaces it whole).

``sync_incidents`` brings the given open incidents' stored work (escalation, timers, pending
notifications) in line with what their facts call for, in the caller's transaction, and returns
how many incidents it had to repair. The reconciler (``tocsin.engine.reconcile``) calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session


def sync_incidents(session: Session, incident_ids: Sequence[str], now: datetime) -> int:
    """Repair the incidents among ``incident_ids`` whose pending work is missing or wrong; the
    number repaired. (Placeholder: repairs nothing.)"""
    return 0
