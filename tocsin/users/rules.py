"""Roles, who may change whom, and contact-method address rules. Pure: no I/O.

An actor is described by ``(role, user_id)`` from the credential: role None is an account key,
which acts for the whole account.
"""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROLES = (
    "owner", "admin", "user", "limited_user", "observer", "read_only_user",
    "restricted_access", "read_only_limited_user",
)
ADMIN_ROLES = frozenset({"owner", "admin"})
OWNER = "owner"

CONTACT_METHOD_TYPES = (
    "email_contact_method", "phone_contact_method", "sms_contact_method", "push_notification_contact_method",
)
TEAM_ROLES = ("observer", "responder", "manager")

# Colors PagerDuty's UI uses for people; new users get one so schedules can tell them apart.
PALETTE = (
    "purple", "red", "green", "blue", "orange", "teal", "brown", "cayenne", "turquoise", "forest-green",
    "chocolate", "crimson", "dark-slate-blue", "dark-goldenrod", "magenta", "navy", "olive",
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_DIGITS = re.compile(r"^\d{4,15}$")  # the national number, without the country code


def is_admin(role: str | None) -> bool:
    return role is None or role in ADMIN_ROLES


def color_for(user_id: str) -> str:
    return PALETTE[sum(user_id.encode()) % len(PALETTE)]


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        return False
    return True


def may_edit_person(actor_role: str | None, actor_id: str | None, target_id: str, target_role: str) -> bool:
    """Profile, contact methods and notification rules: oneself, or an admin — but only the owner
    (or an account key) may touch the owner's."""
    if actor_role is None:
        return True
    if actor_id == target_id:
        return True
    if target_role == OWNER:
        return actor_role == OWNER
    return actor_role in ADMIN_ROLES


def role_change_problem(
    actor_role: str | None, actor_id: str | None, target_id: str, old_role: str, new_role: str,
) -> tuple[str, str] | None:
    """Why ``old_role -> new_role`` is refused, as ("denied"|"invalid", message), or None."""
    if old_role == new_role:
        return None
    if new_role == OWNER:
        return "invalid", "role: an account has exactly one owner; another user cannot be made owner"
    if old_role == OWNER:
        return "invalid", "role: the account owner cannot be demoted"
    if actor_role is not None and actor_id == target_id:
        return "denied", "Users may not change their own role"
    if not is_admin(actor_role):
        return "denied", "Only admins may change a user's role"
    return None


def contact_address_problems(
    type_: str, address: str, country_code: int | None, device_type: str | None,
) -> list[str]:
    """Every broken rule of a contact method's address, by type (empty when valid)."""
    problems: list[str] = []
    if type_ == "email_contact_method":
        if not EMAIL.match(address):
            problems.append("address must be an email address for an email contact method")
    elif type_ in ("phone_contact_method", "sms_contact_method"):
        if country_code is None:
            problems.append(f"country_code is required for a {type_}")
        if not PHONE_DIGITS.match(address):
            problems.append("address must be the phone number's 4 to 15 digits, without the country code")
    elif type_ == "push_notification_contact_method" and device_type not in ("android", "ios"):
        problems.append("device_type must be android or ios for a push notification contact method")
    return problems
