"""What the audit trail records of a user, a contact method and a notification rule."""

from __future__ import annotations

from typing import Any

from tocsin.auth.models import User
from tocsin.users.models import ContactMethod, NotificationRule

USER_FIELDS = ("name", "email", "time_zone", "color", "role", "description", "job_title")
METHOD_FIELDS = ("type", "label", "address", "country_code", "send_short_email", "device_type", "sounds")


def user_snapshot(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in USER_FIELDS}


def method_snapshot(method: ContactMethod) -> dict[str, Any]:
    return {"user_id": method.user_id, **{name: getattr(method, name) for name in METHOD_FIELDS}}


def rule_snapshot(rule: NotificationRule) -> dict[str, Any]:
    return {"user_id": rule.user_id, "contact_method_id": rule.contact_method_id,
            "start_delay_in_minutes": rule.start_delay_in_minutes, "urgency": rule.urgency}
