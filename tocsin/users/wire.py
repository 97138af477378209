"""ORM rows -> PagerDuty JSON for users, contact methods and notification rules."""
from __future__ import annotations

from typing import Any

from tocsin.auth.models import User
from tocsin.http.refs import envelope, iso, reference
from tocsin.users.models import ContactMethod, NotificationRule
from tocsin.users.rules import color_for

AVATAR = "https://secure.gravatar.com/avatar/?d=mp"


def user_ref(base: str, user: User) -> dict[str, Any]:
    return reference(base, "user", user.id, user.name)


def contact_method_ref(base: str, method: ContactMethod) -> dict[str, Any]:
    ref = envelope(base, "contact_method", method.id, method.label, parent=f"users/{method.user_id}")
    ref["type"] = f"{method.type}_reference"
    return ref


def notification_rule_ref(base: str, rule: NotificationRule) -> dict[str, Any]:
    ref = envelope(base, "notification_rule", rule.id, _rule_summary(rule), parent=f"users/{rule.user_id}")
    ref["type"] = "assignment_notification_rule_reference"
    return ref


def _rule_summary(rule: NotificationRule) -> str:
    return f"{rule.start_delay_in_minutes} minutes: channel {rule.contact_method_id}"


def contact_method_json(base: str, method: ContactMethod) -> dict[str, Any]:
    body = envelope(base, "contact_method", method.id, method.label, parent=f"users/{method.user_id}")
    body.update(type=method.type, label=method.label, address=method.address)
    if method.type == "email_contact_method":
        body.update(send_short_email=method.send_short_email, enabled=True)
    elif method.type == "push_notification_contact_method":
        body.update(device_type=method.device_type, sounds=method.sounds or [],
                    created_at=iso(method.created_at), blacklisted=False)
    else:
        body.update(country_code=method.country_code, enabled=True, blacklisted=False)
    return body


def notification_rule_json(
    base: str, rule: NotificationRule, method: ContactMethod, *, expand_method: bool = False,
) -> dict[str, Any]:
    body = envelope(base, "notification_rule", rule.id, _rule_summary(rule), parent=f"users/{rule.user_id}")
    body.update(
        type="assignment_notification_rule",
        start_delay_in_minutes=rule.start_delay_in_minutes,
        urgency=rule.urgency,
        contact_method=contact_method_json(base, method) if expand_method else contact_method_ref(base, method),
    )
    return body


def user_json(
    base: str,
    user: User,
    *,
    teams: list[dict[str, Any]],
    methods: list[ContactMethod],
    rules: list[NotificationRule],
    include: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """``teams`` are already-rendered team references (the teams domain sits above this one)."""
    by_id = {m.id: m for m in methods}
    body = envelope(base, "user", user.id, user.name)
    body.update(
        name=user.name,
        email=user.email,
        time_zone=user.time_zone,
        color=user.color or color_for(user.id),
        role=user.role,
        avatar_url=AVATAR,
        description=user.description,
        invitation_sent=False,
        job_title=user.job_title or "",
        created_via_sso=False,
        teams=teams,
        contact_methods=[
            contact_method_json(base, m) if "contact_methods" in include else contact_method_ref(base, m)
            for m in methods
        ],
        notification_rules=[
            notification_rule_json(base, r, by_id[r.contact_method_id])
            if "notification_rules" in include else notification_rule_ref(base, r)
            for r in rules if r.contact_method_id in by_id
        ],
    )
    return body
