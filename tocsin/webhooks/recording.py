"""Recording a lane's outcomes: every attempt, each delivery's new state (retried on the schedule,
delivered, or failed), and the failure-rate rule that switches a failing destination off.

Judging (``retry.judge``): 2xx delivered; timeout, connection or DNS failure, 429, 5xx retried on
the schedule (``retry.retry_delay``) until it gives up; any other answer fails the delivery at once.
After recording, a destination with failures in the batch is judged (``health``): at 60 % or more
failed deliveries in the last 12 hours (at least 10 of them) it is disabled, its queue dropped and
the admins told (``notices.switch_off``), all in the recording transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.audit.recorder import SYSTEM, record
from tocsin.db.base import table_of
from tocsin.webhooks import health, notices
from tocsin.webhooks.destinations import Claimed
from tocsin.webhooks.models import (
    CHAT,
    DELIVERED,
    FAILED,
    FORWARDER,
    PENDING,
    RETRY,
    Delivery,
    DeliveryAttempt,
    Destination,
    ServiceDestination,
    WebhookSubscription,
)
from tocsin.webhooks.retry import DROP, judge, retry_delay
from tocsin.webhooks.sending import Attempt

log = logging.getLogger(__name__)


def record_outcomes(session: Session, outcomes: Sequence[tuple[Claimed, Attempt | str]], now: datetime) -> list[str]:
    """Write each attempt and its delivery's new state; judge the destinations that failed. A str
    outcome is a delivery that could not even be made (no request): failed at once. Returns the
    destinations disabled."""
    t = table_of(Delivery)
    attempts: list[dict[str, Any]] = []
    by_shape: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    failing: set[str] = set()
    finished: dict[str, int] = {}
    for claimed, outcome in outcomes:
        if isinstance(outcome, str):
            attempt = Attempt(now, None, 0, outcome)
            verdict = DROP
        else:
            attempt = outcome
            verdict = judge(attempt.status_code)
        made = claimed.attempts + 1
        if verdict == DELIVERED:
            status, due, outcome_name = DELIVERED, claimed.leased_until, DELIVERED
        elif verdict == DROP:
            status, due, outcome_name = FAILED, claimed.leased_until, FAILED
        else:
            wait = retry_delay(made)
            if wait is None:
                status, due, outcome_name = FAILED, claimed.leased_until, FAILED
                attempt = Attempt(attempt.started_at, attempt.status_code, attempt.latency_ms,
                                  f"{attempt.error} (gave up after {made} attempts)")
            else:
                status, due, outcome_name = PENDING, now + wait, RETRY
        if status == FAILED:
            failing.add(claimed.destination_id)
        if status != PENDING:
            finished[claimed.destination_id] = finished.get(claimed.destination_id, 0) + 1
        attempts.append({"delivery_seq": claimed.seq, "attempted_at": attempt.started_at,
                         "status_code": attempt.status_code, "latency_ms": attempt.latency_ms,
                         "error": attempt.error, "outcome": outcome_name})
        by_shape.setdefault((status, status == PENDING), []).append({
            "b_seq": claimed.seq, "b_lease": claimed.leased_until, "b_status": status, "b_due": due,
            "b_attempts": made, "b_code": attempt.status_code, "b_error": attempt.error})
    for (_, retrying), params in by_shape.items():
        values: dict[str, Any] = {"status": bindparam("b_status"), "attempts": bindparam("b_attempts"),
                                  "last_status_code": bindparam("b_code"), "last_error": bindparam("b_error"),
                                  "due_at": bindparam("b_due")}
        if not retrying:
            values["finished_at"] = now
        # Only while this engine's lease holds: a delivery dropped meanwhile (its destination
        # switched off) or taken over after the lease ran out is not overwritten.
        session.execute(update(t).where(t.c.seq == bindparam("b_seq"), t.c.status == PENDING,
                                        t.c.due_at == bindparam("b_lease")).values(values), params)
    if attempts:
        # A delivery deleted meanwhile (its subscription was) keeps no attempts.
        alive = set(session.scalars(select(t.c.seq).where(t.c.seq.in_([a["delivery_seq"] for a in attempts]))))
        attempts = [a for a in attempts if a["delivery_seq"] in alive]
    if attempts:
        session.execute(insert(table_of(DeliveryAttempt)), attempts)
    return [d for d in sorted(finished) if judge_destination(session, d, now, failed_now=d in failing,
                                                              finished_now=finished[d])]


def judge_destination(session: Session, destination_id: str, now: datetime, *, failed_now: bool = True,
                      finished_now: int = 0) -> bool:
    """Disable the destination when the failure-rate rule says so (``health``); whether it was.
    ``failed_now``: a delivery just failed; else ``finished_now`` just succeeded, which lowers the
    rate and can disable only by bringing the window up to the minimum count (checked with a
    bounded count, so a busy healthy destination costs one short index read, and no row lock: the
    destination's, taken to judge, would queue every lane's recording behind the one before)."""
    if not failed_now:
        since = session.scalar(select(Destination.judged_since).where(Destination.id == destination_id))
        if since is None:
            return False
        cap = health.MIN_DELIVERIES + finished_now
        seen = session.scalar(select(func.count()).select_from(
            select(Delivery.seq).where(Delivery.destination_id == destination_id,
                                       Delivery.finished_at >= health.window_start(now, since),
                                       Delivery.status.in_((DELIVERED, FAILED))).limit(cap).subquery()))
        if (seen or 0) >= cap:
            return False  # judged when the window reached the minimum; successes only lower the rate
    destination = session.scalar(select(Destination).where(Destination.id == destination_id).with_for_update())
    if destination is None or destination.temporarily_disabled or not destination.active:
        return False
    start = health.window_start(now, destination.judged_since)
    counts: dict[str, int] = dict(session.execute(
        select(Delivery.status, func.count()).where(Delivery.destination_id == destination_id,
                                                    Delivery.finished_at >= start,
                                                    Delivery.status.in_((DELIVERED, FAILED)))
        .group_by(Delivery.status)).all())
    delivered, failed = counts.get(DELIVERED, 0), counts.get(FAILED, 0)
    if not health.should_disable(delivered, failed):
        return False
    reason = health.failure_reason(delivered, failed)
    before = {"temporarily_disabled": False}
    destination.temporarily_disabled = True
    destination.disabled_reason = reason
    destination.updated_at = now
    label, resource, noun, path = _described(session, destination)
    session.flush()
    # The recorder adds to the session it is given; this synchronous one serves the same.
    record(cast(AsyncSession, session), SYSTEM, action="update", resource_type=resource,
           resource_id=destination_id, summary=label, before=before,
           after={"temporarily_disabled": True}, at=now)
    dropped = notices.switch_off(session, what="disabled", destination_id=destination_id,
                                 label=label, url=destination.url, why=reason, now=now, noun=noun, path=path)
    log.warning("%s %s disabled: %s; %d queued deliveries dropped", noun, destination_id, reason, dropped)
    return True


def _described(session: Session, destination: Destination) -> tuple[str, str, str, str]:
    """(label, audit resource type, noun, REST path) of a destination, by its kind."""
    if destination.kind in (FORWARDER, CHAT):
        found = session.execute(select(ServiceDestination.description, ServiceDestination.service_id)
                                .where(ServiceDestination.id == destination.id)).first()
        description, service_id = found if found is not None else (None, "?")
        collection = "forwarders" if destination.kind == FORWARDER else "chat_webhooks"
        noun = "forwarder" if destination.kind == FORWARDER else "chat webhook"
        return (description or destination.url, noun.replace(" ", "_"), noun,
                f"/services/{service_id}/{collection}/{destination.id}")
    label = session.scalar(select(WebhookSubscription.description).where(WebhookSubscription.id == destination.id))
    return label or destination.url, "webhook_subscription", "webhook subscription", \
        f"/webhook_subscriptions/{destination.id}"
