"""The plan (pure): hand-worked cases, and Hypothesis properties over generated documents — a
document planned against itself changes nothing, carrying a plan out reaches the document, an
additive plan never deletes or removes, a prune deletes only what the document does not list and
never the owner."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.config_as_code.canonical import normalise
from tocsin.config_as_code.document import (
    BY_NAME,
    INTEGRATIONS,
    SECTIONS,
    Document,
    DocumentError,
    key_of,
)
from tocsin.config_as_code.plan import Change, FieldChange, match_items, plan, render

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)


def doc(**sections: Any) -> Document:
    return normalise({"version": 1, **sections})


# --- hand-worked ----------------------------------------------------------------------------------

def test_a_changed_field_a_removed_item_and_a_new_object_render_diff_like() -> None:
    current = doc(users=[{"email": "ada@example.com", "name": "Ada", "role": "admin", "contact_methods": [
        {"type": "email", "address": "ada@example.com", "label": "Default",
         "notification_rules": [{"urgency": "high", "start_delay_in_minutes": 0}]},
        {"type": "sms", "address": "555", "country_code": 1, "label": "Mobile"}]}])
    desired = doc(users=[
        {"email": "ADA@example.com", "name": "Ada L.", "contact_methods": [
            {"type": "email_contact_method", "address": "ada@example.com", "label": "Default",
             "notification_rules": [{"urgency": "high", "start_delay_in_minutes": 0},
                                    {"urgency": "low", "start_delay_in_minutes": 5}]}]},
        {"email": "bob@example.com", "name": "Bob"}])
    result = plan(desired, current)
    assert render(result) == [
        "~ user ada@example.com",
        '    name: "Ada" -> "Ada L."',
        ('  ~ contact_methods[email ada@example.com].notification_rules: [{"urgency": "high", '
        '"start_delay_in_minutes": 0}] -> [{"urgency": "high", "start_delay_in_minutes": 0}, '
         '{"urgency": "low", "start_delay_in_minutes": 5}]'),
        '  - contact_methods[sms 555]: {"type": "sms", "address": "555", "country_code": 1, "label": "Mobile"}',
        "+ user bob@example.com",
        '    email: "bob@example.com"',
        '    name: "Bob"',
        "Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged.",
    ]
    # The role is not written in the desired entry: not managed, so not changed.
    assert all(f.path != "role" for c in result.changes for f in c.fields)
    additive = plan(desired, current, additive=True)
    assert [f.op for c in additive.changes for f in c.fields] == ["set", "change"]


def test_integrations_match_by_key_and_without_one_by_type_and_name() -> None:
    current = [{"name": "Datadog", "type": "events_api_v2_inbound_integration", "integration_key": "a" * 32}]
    with_key = [{"name": "Datadog", "type": "events_api_v2_inbound_integration", "integration_key": "b" * 32}]
    pairs, added, removed = match_items(INTEGRATIONS, with_key, current)
    assert (pairs, added, removed) == ([], with_key, current)  # another key: another integration
    without = [{"name": "Datadog", "type": "events_api_v2_inbound_integration"}]
    pairs, added, removed = match_items(INTEGRATIONS, without, current)
    assert pairs == [(without[0], current[0])] and added == [] == removed


def test_a_window_that_has_begun_is_matched_without_its_start() -> None:
    desired = doc(maintenance_windows=[{"description": "Upgrade", "start": "2030-06-01T10:00:00Z",
                                        "end": "2030-06-01T14:00:00Z", "services": ["web"]}])
    # Created elsewhere at 11:00 (a past start becomes the moment of creation), then extended.
    current = doc(maintenance_windows=[{"description": "Upgrade", "start": "2030-06-01T11:00:00Z",
                                        "end": "2030-06-01T13:00:00Z", "services": ["web"]}])
    result = plan(desired, current, now=NOW)
    assert [(c.action, [f.path for f in c.fields]) for c in result.changes] == [("update", ["end"])]
    future = doc(maintenance_windows=[{"description": "Upgrade", "start": "2030-07-01T10:00:00Z",
                                       "end": "2030-07-01T14:00:00Z", "services": ["web"]}])
    assert [c.action for c in plan(future, current, now=NOW).changes] == ["create"]


def test_prune_deletes_in_reverse_dependency_order_children_first_and_never_the_owner() -> None:
    current = doc(
        users=[{"email": "owner@example.com", "name": "O", "role": "owner"}, {"email": "x@example.com", "name": "X"}],
        teams=[{"name": "Root"}, {"name": "Child", "parent": "Root"}, {"name": "Grandchild", "parent": "Child"}],
        services=[{"name": "svc", "escalation_policy": "p"}])
    result = plan(doc(users=[], teams=[], services=[]), current, prune=True)
    assert [(c.section, c.key) for c in result.changes] == [
        ("services", "svc"), ("teams", "Grandchild"), ("teams", "Child"), ("teams", "Root"), ("users", "x@example.com")]
    assert result.kept == ("user owner@example.com (the account owner is never deleted)",)
    # A section the document leaves out is not managed: nothing in it is deleted.
    assert plan(doc(users=[]), current, prune=True).count("delete") == 1
    assert plan(doc(users=[]), current, prune=True, additive=True).changes == ()


def test_teams_are_created_parents_first() -> None:
    desired = doc(teams=[{"name": "A child", "parent": "Z root"}, {"name": "Z root"},
                         {"name": "B grandchild", "parent": "A child"}])
    assert [c.key for c in plan(desired, doc()).changes] == ["Z root", "A child", "B grandchild"]


def test_normalise_canonicalises_and_reports_every_problem() -> None:
    document = normalise({"schedules": [{"name": "S", "teams": ["b", "a"], "layers": [{
        "start": datetime(2030, 1, 1, 9, tzinfo=UTC), "rotation_turn_length_seconds": 86400,
        "users": ["Ada@Example.com"],
        "restrictions": [{"type": "daily_restriction", "start_time_of_day": 36000, "duration_seconds": 60}]}]}]})
    [schedule] = document["schedules"]
    assert schedule["teams"] == ["a", "b"]
    layer = schedule["layers"][0]
    assert (layer["start"], layer["rotation_virtual_start"], layer["users"]) == (
        "2030-01-01T09:00:00Z", "2030-01-01T09:00:00Z", ["ada@example.com"])
    assert layer["restrictions"][0]["start_time_of_day"] == "10:00:00"  # YAML's sexagesimal 10:00:00
    with pytest.raises(DocumentError) as refused:
        normalise({"users": [{"email": "a@x.io", "name": "A", "_id": "P1"}, {"email": "A@x.io", "name": "B"}],
                   "teams": [{"name": "T", "members": [{"user": "a@x.io", "rank": 1}]}], "widgets": []})
    listed = refused.value.problems
    assert "users[0]._id: ids are not written in a document (objects are named)" in listed
    assert "teams[0].members[0].rank: unknown field; known: user, role" in listed
    assert any("widgets" in p for p in listed) and any("listed twice" in p for p in listed)


# --- properties -----------------------------------------------------------------------------------

emails = st.sampled_from([f"{n}@example.com" for n in ("ada", "bob", "cy", "di", "ed")])
names = st.sampled_from(["alpha", "beta", "gamma", "delta"])
rules = st.lists(st.fixed_dictionaries({"urgency": st.sampled_from(["high", "low"]),
                                        "start_delay_in_minutes": st.integers(0, 3)}),
                 max_size=3, unique_by=lambda r: (r["urgency"], r["start_delay_in_minutes"]))
methods = st.lists(st.fixed_dictionaries({
    "type": st.sampled_from(["email", "sms", "phone"]), "address": st.sampled_from(["a", "b", "c"]),
    "label": st.sampled_from(["Home", "Work"]), "notification_rules": rules,
}), max_size=3, unique_by=lambda m: (m["type"], m["address"]))
users = st.lists(st.fixed_dictionaries({
    "email": emails, "name": names, "role": st.sampled_from(["owner", "admin", "user"]),
    "time_zone": st.sampled_from(["UTC", "Europe/Berlin"]),
}, optional={"contact_methods": methods}), max_size=4, unique_by=lambda u: str(u["email"]))
teams = st.lists(st.fixed_dictionaries({"name": names, "description": st.sampled_from(["", "x"])}, optional={
    "members": st.lists(st.fixed_dictionaries({"user": emails, "role": st.sampled_from(["manager", "observer"])}),
                        max_size=3, unique_by=lambda m: m["user"])}), max_size=3, unique_by=lambda t: str(t["name"]))
integrations = st.lists(st.fixed_dictionaries({
    "name": names, "type": st.sampled_from(["events_api_v2_inbound_integration",
                                            "generic_events_api_inbound_integration"]),
    "integration_key": st.sampled_from(["1" * 32, "2" * 32, "3" * 32, "4" * 32])}), max_size=3,
    unique_by=lambda i: i["integration_key"])
services = st.lists(st.fixed_dictionaries({
    "name": names, "escalation_policy": names, "auto_resolve_timeout": st.sampled_from([None, 60, 14400]),
    "incident_urgency_rule": st.sampled_from([{"type": "constant", "urgency": "high"},
                                              {"type": "constant", "urgency": "low"}]),
}, optional={"integrations": integrations}), max_size=3, unique_by=lambda s: str(s["name"]))
documents = st.builds(lambda u, t, s: doc(users=u, teams=t, services=s), users, teams, services)


def _carry_out(changes: tuple[Change, ...], current: Document) -> Document:
    """What a faithful applier leaves: the plan's changes applied to a copy of ``current``."""
    result = copy.deepcopy(current)
    for change in changes:
        section = BY_NAME[change.section]
        entries = result.setdefault(change.section, [])
        index = next((i for i, e in enumerate(entries)
                      if key_of(section, e, NOW).casefold() == change.key.casefold()), None)
        if change.action == "create":
            entries.append(copy.deepcopy(change.desired))
        elif change.action == "delete":
            assert index is not None
            del entries[index]
        else:
            assert index is not None
            entry = entries[index]
            for f in change.fields:
                _field(entry, f)
    return result


def _field(entry: dict[str, Any], f: FieldChange) -> None:
    if f.op == "set":
        entry[f.path] = copy.deepcopy(f.after)
        return
    assert f.collection is not None
    items = entry.setdefault(f.collection, [])
    if f.op in ("change", "remove"):
        items.remove(f.before)
    if f.op in ("change", "add"):
        items.append(copy.deepcopy(f.after))


@settings(max_examples=150, deadline=None)
@given(documents)
def test_a_document_planned_against_itself_changes_nothing(document: Document) -> None:
    result = plan(document, copy.deepcopy(document), prune=True, now=NOW)
    assert result.changes == ()
    assert result.unchanged == sum(len(document.get(s.name, [])) for s in SECTIONS)


@settings(max_examples=150, deadline=None)
@given(documents, documents, st.booleans())
def test_carrying_out_a_plan_reaches_the_document(desired: Document, current: Document, additive: bool) -> None:
    result = plan(desired, current, additive=additive, prune=not additive, now=NOW)
    reached = _carry_out(result.changes, current)
    assert plan(desired, reached, additive=additive, prune=not additive, now=NOW).changes == ()
    if additive:
        assert result.count("delete") == 0
        assert all(f.op != "remove" for c in result.changes for f in c.fields)
        # Nothing the target had beyond the document was lost.
        for section in SECTIONS:
            before = {key_of(section, e, NOW).casefold() for e in current.get(section.name, [])}
            after = {key_of(section, e, NOW).casefold() for e in reached.get(section.name, [])}
            assert before <= after


@settings(max_examples=100, deadline=None)
@given(documents, documents)
def test_prune_deletes_only_what_the_document_does_not_list_and_never_the_owner(
    desired: Document, current: Document,
) -> None:
    result = plan(desired, current, prune=True, now=NOW)
    for change in result.changes:
        if change.action != "delete":
            continue
        section = BY_NAME[change.section]
        assert change.key.casefold() not in {key_of(section, e, NOW).casefold() for e in desired[change.section]}
        assert (change.current or {}).get("role") != "owner"
