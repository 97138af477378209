"""Carrying a plan out through the REST API, one object at a time, in the plan's order.

Each change gets an ``Outcome``. A refusal about the object itself (400, 403, 404, 409, 422, or a
name that resolves to nothing) fails that object and the run goes on: an object referring to it
then fails with a clear reason. A failure every request would meet (credentials, rate limit
after the client's retries, the server down or failing) stops the run: it is raised.

A created object is made to match its entry exactly, sub-collections included (a new user's
default contact method goes unless the entry lists it), whatever ``additive`` says: nothing of
it was edited on the target yet.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.client import ApiError, RestClient
from tocsin.config_as_code import to_api
from tocsin.config_as_code.document import (
    CONTACT_METHODS,
    INTEGRATIONS,
    MEMBERS,
    RULES,
    SECTIONS,
    Document,
    Entry,
    key_of,
)
from tocsin.config_as_code.env_refs import MissingVariable
from tocsin.config_as_code.from_api import user_entry
from tocsin.config_as_code.plan import Change, FieldChange, item_changes
from tocsin.config_as_code.to_api import Ids, Unresolved

ABOUT_ONE = frozenset({400, 403, 404, 409, 422})
NAMED = ("users", "teams", "schedules", "escalation_policies", "services")


def about_one(error: ApiError) -> bool:
    """A refusal of this object (others may still succeed), not of every request."""
    return error.status in ABOUT_ONE and not _needs_from(error)


def _needs_from(error: ApiError) -> bool:
    said = " ".join((error.message, *error.errors)).lower()
    return error.status == 400 and "from" in said and ("header" in said or "email" in said)


def reason(error: ApiError) -> str:
    return "; ".join(error.errors) or error.message


@dataclass
class Outcome:
    change: Change
    ok: bool
    message: str
    notes: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"section": self.change.section, "key": self.change.key, "action": self.change.action,
                "ok": self.ok, "message": self.message, "notes": self.notes}


def ids_of(current: Document, now: datetime | None = None) -> Ids:
    ids = Ids()
    for section in SECTIONS:
        for entry in current.get(section.name, []):
            if entry.get("_id"):
                ids.set(section.name, key_of(section, entry, now), str(entry["_id"]))
    return ids


class Applier:
    def __init__(self, rest: RestClient, current: Document, *, now: datetime, additive: bool = False,
                 env: Mapping[str, str] | None = None) -> None:
        self.rest = rest
        self.ids = ids_of(current, now)
        self.now = now
        self.additive = additive
        self.env = os.environ if env is None else env  # where secrets named {env: NAME} are read
        self._notes: list[str] = []

    def apply(self, changes: tuple[Change, ...], advance: Callable[[int], None] = lambda n: None) -> list[Outcome]:
        outcomes = []
        for change in changes:
            outcomes.append(self.one(change))
            advance(1)
        return outcomes

    def one(self, change: Change) -> Outcome:
        self._notes = []
        handler = getattr(self, f"_{change.action}_{change.section}")
        try:
            message = handler(change)
        except (Unresolved, MissingVariable) as exc:
            return Outcome(change, False, str(exc), self._notes)
        except ApiError as exc:
            if not about_one(exc):
                raise
            return Outcome(change, False, reason(exc), self._notes)
        except _Partial as exc:
            return Outcome(change, False, str(exc), self._notes)
        return Outcome(change, True, message, self._notes)

    # --- shared ---------------------------------------------------------------------------------

    @staticmethod
    def _changed(change: Change, collections: tuple[str, ...] = ()) -> set[str]:
        return {f.path for f in change.fields if f.op == "set" and f.path not in collections}

    @staticmethod
    def _items(change: Change, collection: str) -> list[FieldChange]:
        return [f for f in change.fields if f.collection == collection]

    def _id(self, change: Change) -> str:
        return str((change.current or {})["_id"])

    def _sub(self, label: str, work: list[tuple[str, Callable[[], None]]]) -> None:
        """Sub-object requests, each on its own: the first refusals are gathered, not raised."""
        failed = []
        for what, act in work:
            try:
                act()
            except ApiError as exc:
                if not about_one(exc):
                    raise
                failed.append(f"{what}: {reason(exc)}")
            except (Unresolved, MissingVariable) as exc:
                failed.append(f"{what}: {exc}")
        if failed:
            raise _Partial(f"{label}, but " + "; ".join(failed))

    # --- users ----------------------------------------------------------------------------------

    def _user_fields(self, entry: Entry, only: set[str] | None, current_role: str | None) -> dict[str, Any]:
        body = to_api.user_body(entry, only)
        fields = body["user"]
        if fields.get("role") == "owner" and current_role is None:
            fields["role"] = "admin"
            self._notes.append("an account has one owner: made admin instead")
        elif fields.get("role") == "owner" and current_role != "owner":
            fields.pop("role")
            self._notes.append("an account has one owner: role left as it is")
        elif current_role == "owner" and "role" in fields and fields["role"] != "owner":
            fields.pop("role")
            self._notes.append("the account owner stays owner")
        return body

    def _create_users(self, change: Change) -> str:
        entry = change.desired or {}
        fields = {k: v for k, v in entry.items() if k != "contact_methods"}
        made = self.rest.post("/users", self._user_fields(fields, None, None))["user"]
        self.ids.set("users", change.key, made["id"])
        if "contact_methods" in entry:
            fresh = self.rest.get(f"/users/{made['id']}", {"include[]": ["contact_methods", "notification_rules"]})
            current = user_entry(fresh["user"], [])
            items = item_changes(CONTACT_METHODS, "contact_methods", entry["contact_methods"],
                                 current["contact_methods"], additive=False)
            self._sub("created", self._method_work(made["id"], items))
        return "created"

    def _update_users(self, change: Change) -> str:
        user_id = self._id(change)
        scalars = self._changed(change, ("contact_methods",))
        work: list[tuple[str, Callable[[], None]]] = []
        if scalars:
            body = self._user_fields(change.desired or {}, scalars, (change.current or {}).get("role"))
            if len(body["user"]) > 1:
                self.rest.put(f"/users/{user_id}", body)
        work += self._method_work(user_id, self._items(change, "contact_methods"))
        self._sub("updated", work)
        return "updated"

    def _delete_users(self, change: Change) -> str:
        self.rest.delete(f"/users/{self._id(change)}")
        return "deleted"

    def _method_work(self, user_id: str, items: list[FieldChange]) -> list[tuple[str, Callable[[], None]]]:
        work: list[tuple[str, Callable[[], None]]] = []
        base = f"/users/{user_id}"
        for item in items:
            what = f"contact method {item.item_key}"
            if item.op == "add":
                work.append((what, functools.partial(self._add_method, base, item.after)))
            elif item.op == "remove":
                work.append((what, functools.partial(self.rest.delete, f"{base}/contact_methods/{item.before['_id']}")))
            elif item.op == "change":
                work.append((what, functools.partial(self._change_method, base, item.after, item.before)))
        return work

    def _add_method(self, base: str, item: Entry) -> None:
        made = self.rest.post(f"{base}/contact_methods", to_api.contact_method_body(item))["contact_method"]
        for rule in item.get("notification_rules") or []:
            self.rest.post(f"{base}/notification_rules", to_api.notification_rule_body(rule, made["id"], item["type"]))

    def _change_method(self, base: str, desired: Entry, current: Entry) -> None:
        changed: set[str] = {k for k in ("label", "country_code", "send_short_email")
                             if k in desired and desired[k] != current.get(k)}
        if changed:
            self.rest.put(f"{base}/contact_methods/{current['_id']}", to_api.contact_method_body(desired, changed))
        for rule in item_changes(RULES, "notification_rules", desired.get("notification_rules") or [],
                                 current.get("notification_rules") or [], self.additive):
            if rule.op == "add":
                self.rest.post(f"{base}/notification_rules",
                               to_api.notification_rule_body(rule.after, current["_id"], current["type"]))
            elif rule.op == "remove":
                self.rest.delete(f"{base}/notification_rules/{rule.before['_id']}")

    # --- teams ----------------------------------------------------------------------------------

    def _member_work(self, team_id: str, items: list[FieldChange]) -> list[tuple[str, Callable[[], None]]]:
        work: list[tuple[str, Callable[[], None]]] = []
        for item in items:
            what = f"member {item.item_key}"
            if item.op in ("add", "change"):
                def put(i: Entry = item.after) -> None:
                    user_id = self.ids.need("users", i["user"], "user")
                    self.rest.put(f"/teams/{team_id}/users/{user_id}", {"role": i.get("role") or "manager"})
                work.append((what, put))
            else:
                def remove(i: Entry = item.before) -> None:
                    user_id = self.ids.need("users", i["user"], "user")
                    self.rest.delete(f"/teams/{team_id}/users/{user_id}")
                work.append((what, remove))
        return work

    def _create_teams(self, change: Change) -> str:
        entry = change.desired or {}
        fields = {k: v for k, v in entry.items() if k != "members"}
        made = self.rest.post("/teams", to_api.team_body(fields, self.ids))["team"]
        self.ids.set("teams", change.key, made["id"])
        items = item_changes(MEMBERS, "members", entry.get("members") or [], [], additive=False)
        self._sub("created", self._member_work(made["id"], items))
        return "created"

    def _update_teams(self, change: Change) -> str:
        team_id = self._id(change)
        scalars = self._changed(change, ("members",))
        if scalars:
            self.rest.put(f"/teams/{team_id}", to_api.team_body(change.desired or {}, self.ids, scalars))
        self._sub("updated", self._member_work(team_id, self._items(change, "members")))
        return "updated"

    def _delete_teams(self, change: Change) -> str:
        self.rest.delete(f"/teams/{self._id(change)}")
        return "deleted"

    # --- schedules and policies -----------------------------------------------------------------

    def _create_schedules(self, change: Change) -> str:
        made = self.rest.post("/schedules", to_api.schedule_body(change.desired or {}, self.ids))["schedule"]
        self.ids.set("schedules", change.key, made["id"])
        return "created"

    def _update_schedules(self, change: Change) -> str:
        layer_ids = [str(layer.get("_id")) for layer in (change.current or {}).get("layers") or [] if layer.get("_id")]
        body = to_api.schedule_body(change.desired or {}, self.ids, self._changed(change), layer_ids)
        self.rest.put(f"/schedules/{self._id(change)}", body)
        return "updated"

    def _delete_schedules(self, change: Change) -> str:
        self.rest.delete(f"/schedules/{self._id(change)}")
        return "deleted"

    def _create_escalation_policies(self, change: Change) -> str:
        made = self.rest.post("/escalation_policies", to_api.policy_body(change.desired or {}, self.ids))
        self.ids.set("escalation_policies", change.key, made["escalation_policy"]["id"])
        return "created"

    def _update_escalation_policies(self, change: Change) -> str:
        rule_ids = [str(r.get("_id")) for r in (change.current or {}).get("rules") or [] if r.get("_id")]
        body = to_api.policy_body(change.desired or {}, self.ids, self._changed(change), rule_ids)
        self.rest.put(f"/escalation_policies/{self._id(change)}", body)
        return "updated"

    def _delete_escalation_policies(self, change: Change) -> str:
        self.rest.delete(f"/escalation_policies/{self._id(change)}")
        return "deleted"

    # --- services -------------------------------------------------------------------------------

    def _integration_work(self, service_id: str, items: list[FieldChange]) -> list[tuple[str, Callable[[], None]]]:
        base = f"/services/{service_id}/integrations"
        work: list[tuple[str, Callable[[], None]]] = []
        for item in items:
            what = f"integration {(item.after or item.before or {}).get('name') or item.item_key}"
            if item.op == "add":
                work.append((what, functools.partial(self.rest.post, base, to_api.integration_body(item.after))))
            elif item.op == "remove":
                work.append((what, functools.partial(self.rest.delete, f"{base}/{item.before['_id']}")))
            elif item.op == "change":
                def rename(d: Entry = item.after, c: Entry = item.before) -> None:
                    if d.get("type") and d["type"] != c.get("type"):
                        raise Unresolved("integration type", f"{c.get('type')} -> {d['type']} (a type cannot change; "
                                                             "remove the integration and add a new one)")
                    self.rest.put(f"{base}/{c['_id']}", {"integration": {"name": d.get("name") or c.get("name")}})
                work.append((what, rename))
        return work

    def _create_services(self, change: Change) -> str:
        entry = change.desired or {}
        fields = {k: v for k, v in entry.items() if k != "integrations"}
        made = self.rest.post("/services", to_api.service_body(fields, self.ids))["service"]
        self.ids.set("services", change.key, made["id"])
        items = item_changes(INTEGRATIONS, "integrations", entry.get("integrations") or [], [], additive=False)
        self._sub("created", self._integration_work(made["id"], items))
        return "created"

    def _update_services(self, change: Change) -> str:
        service_id = self._id(change)
        scalars = self._changed(change, ("integrations",))
        if scalars:
            self.rest.put(f"/services/{service_id}", to_api.service_body(change.desired or {}, self.ids, scalars))
        self._sub("updated", self._integration_work(service_id, self._items(change, "integrations")))
        return "updated"

    def _delete_services(self, change: Change) -> str:
        self.rest.delete(f"/services/{self._id(change)}")
        return "deleted"

    # --- webhooks, forwarders, chat webhooks and maintenance windows -----------------------------

    def _create_webhook_subscriptions(self, change: Change) -> str:
        self.rest.post("/webhook_subscriptions", to_api.webhook_body(change.desired or {}, self.ids, env=self.env))
        self._notes.append("a new signing secret was made: receivers that verify signatures need it")
        return "created"

    def _update_webhook_subscriptions(self, change: Change) -> str:
        body = to_api.webhook_body(change.desired or {}, self.ids, self._changed(change))
        self.rest.put(f"/webhook_subscriptions/{self._id(change)}", body)
        return "updated"

    def _delete_webhook_subscriptions(self, change: Change) -> str:
        self.rest.delete(f"/webhook_subscriptions/{self._id(change)}")
        return "deleted"

    def _relays(self, change: Change) -> str:
        """``/services/{id}/forwarders`` or ``/chat_webhooks`` (the section's name) of the entry's service."""
        service_id = (change.current or {}).get("_service_id") or self.ids.need(
            "services", (change.desired or {}).get("service", ""), "service")
        return f"/services/{service_id}/{change.section}"

    def _create_relay(self, change: Change) -> str:
        self.rest.post(self._relays(change), to_api.relay_body(change.section, change.desired or {}, self.ids,
                                                               env=self.env))
        return "created"

    def _update_relay(self, change: Change) -> str:
        body = to_api.relay_body(change.section, change.desired or {}, self.ids, self._changed(change))
        self.rest.put(f"{self._relays(change)}/{self._id(change)}", body)
        return "updated"

    def _delete_relay(self, change: Change) -> str:
        self.rest.delete(f"{self._relays(change)}/{self._id(change)}")
        return "deleted"

    _create_forwarders = _create_chat_webhooks = _create_relay
    _update_forwarders = _update_chat_webhooks = _update_relay
    _delete_forwarders = _delete_chat_webhooks = _delete_relay

    def _create_maintenance_windows(self, change: Change) -> str:
        self.rest.post("/maintenance_windows", to_api.window_body(change.desired or {}, self.ids))
        return "created"

    def _update_maintenance_windows(self, change: Change) -> str:
        body = to_api.window_body(change.desired or {}, self.ids, self._changed(change))
        self.rest.put(f"/maintenance_windows/{self._id(change)}", body)
        return "updated"

    def _delete_maintenance_windows(self, change: Change) -> str:
        self.rest.delete(f"/maintenance_windows/{self._id(change)}")
        return "deleted"


class _Partial(Exception):
    """The object was made or changed, but some of its parts were refused."""

