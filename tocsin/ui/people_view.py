"""What a person's page shows, read through the users domain's own logic (profile, contact
methods, notification rules: ``details_of``, as ``GET /users/{id}`` uses) and the on-call query
(their next shifts), with whether the viewer may change them (the users domain's own rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.models import User
from tocsin.notifications.addresses import send_address
from tocsin.ui.oncall_view import Person, user_on_call
from tocsin.users.logic import details_of, get_user
from tocsin.users.models import ContactMethod, NotificationRule
from tocsin.users.rules import may_edit_person

METHOD_KINDS = {
    "email_contact_method": "Email", "sms_contact_method": "SMS", "phone_contact_method": "Phone",
    "push_notification_contact_method": "Push",
}


@dataclass
class PersonView:
    user: User
    methods: list[ContactMethod]
    rules: list[NotificationRule]
    shifts: list[Person]
    policies: dict[str, str]
    can_edit: bool
    is_me: bool

    def address(self, method: ContactMethod) -> str:
        return send_address(method.type, method.address, method.country_code)

    def method_label(self, method_id: str) -> str:
        found = next((m for m in self.methods if m.id == method_id), None)
        return f"{METHOD_KINDS.get(found.type, found.type)}: {found.label}" if found else method_id


async def person_view(session: AsyncSession, user_id: str, viewer_id: str, viewer_role: str, may_write: bool,
                      now: datetime) -> PersonView:
    user = await get_user(session, user_id)
    methods, rules = await details_of(session, [user.id])
    shifts, policies = await user_on_call(session, user.id, now)
    can_edit = may_write and may_edit_person(viewer_role, viewer_id, user.id, user.role)
    return PersonView(user, methods[user.id], rules[user.id], shifts, policies, can_edit, user.id == viewer_id)
