"""The pure dedup planner, directly and as properties."""

from __future__ import annotations

from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from tocsin.incidents.dedup import Action, DedupKey, OpenAlert, PlannedEvent, plan

_counter = iter(range(10**9))


def ev(action: str, key: str = "k", integration: str = "I1") -> PlannedEvent:
    n = next(_counter)
    return PlannedEvent(integration, cast(Action, action), key, f"A{n}", f"N{n}")  # the strategies draw valid actions


def outcomes(events: list[PlannedEvent], open_alerts: dict[DedupKey, OpenAlert] | None = None) -> list[str]:
    return [s.outcome for s in plan(events, open_alerts or {})]


def test_first_trigger_opens_an_alert_and_repeats_add_triggers() -> None:
    assert outcomes([ev("trigger"), ev("trigger"), ev("trigger")]) == ["new_alert", "add_trigger", "add_trigger"]


def test_repeat_trigger_targets_the_open_alert() -> None:
    first, second = ev("trigger"), ev("trigger")
    steps = plan([first, second], {})
    assert steps[1].alert_id == first.new_alert_id and steps[1].incident_id == first.new_incident_id


def test_existing_open_alert_is_deduplicated_against() -> None:
    steps = plan([ev("trigger")], {("I1", "k"): OpenAlert("A-old", "N-old", "triggered")})
    assert (steps[0].outcome, steps[0].alert_id) == ("add_trigger", "A-old")


def test_resolve_then_trigger_opens_a_new_alert() -> None:
    assert outcomes([ev("trigger"), ev("resolve"), ev("trigger")]) == ["new_alert", "resolve", "new_alert"]


def test_ack_and_resolve_without_open_alert_do_nothing() -> None:
    assert outcomes([ev("acknowledge"), ev("resolve")]) == ["ignore", "ignore"]


def test_second_acknowledge_is_ignored() -> None:
    assert outcomes([ev("trigger"), ev("acknowledge"), ev("acknowledge")]) == ["new_alert", "acknowledge", "ignore"]


def test_acknowledged_incident_still_deduplicates_triggers() -> None:
    steps = plan([ev("trigger")], {("I1", "k"): OpenAlert("A", "N", "acknowledged")})
    assert steps[0].outcome == "add_trigger"


def test_follow_ups_count_only_through_the_same_integration() -> None:
    assert outcomes([ev("trigger", integration="I1"), ev("resolve", integration="I2"),
                     ev("trigger", integration="I2")]) == ["new_alert", "ignore", "new_alert"]


def test_input_mapping_is_not_modified() -> None:
    open_alerts = {("I1", "k"): OpenAlert("A", "N", "triggered")}
    plan([ev("resolve")], open_alerts)
    assert ("I1", "k") in open_alerts


actions = st.lists(st.tuples(st.sampled_from(["trigger", "acknowledge", "resolve"]),
                             st.sampled_from(["a", "b"]), st.sampled_from(["I1", "I2"])), max_size=40)


@given(actions)
def test_at_most_one_open_alert_per_key(seq: list[tuple[str, str, str]]) -> None:
    events = [ev(a, k, i) for a, k, i in seq]
    open_by_key: dict[tuple[str, str], str] = {}
    for event, step in zip(events, plan(events, {}), strict=True):
        key = (event.integration_id, event.dedup_key)
        if step.outcome == "new_alert":
            assert key not in open_by_key  # never two open alerts for one key
            assert step.alert_id is not None
            open_by_key[key] = step.alert_id
        elif step.outcome in ("add_trigger", "acknowledge"):
            assert open_by_key[key] == step.alert_id
        elif step.outcome == "resolve":
            assert open_by_key.pop(key) == step.alert_id


@given(actions)
def test_planning_in_two_batches_equals_planning_once(seq: list[tuple[str, str, str]]) -> None:
    """Splitting a stream into batches (as the processor does) never changes the outcome."""
    events = [ev(a, k, i) for a, k, i in seq]
    whole = plan(events, {})
    cut = len(events) // 2
    first = plan(events[:cut], {})
    state: dict[DedupKey, OpenAlert] = {}
    for event, step in zip(events[:cut], first, strict=True):
        key = (event.integration_id, event.dedup_key)
        if step.outcome in ("new_alert", "acknowledge"):
            assert step.alert_id is not None and step.incident_id is not None
            status = "triggered" if step.outcome == "new_alert" else "acknowledged"
            state[key] = OpenAlert(step.alert_id, step.incident_id, status)
        elif step.outcome == "resolve":
            del state[key]
    assert first + plan(events[cut:], state) == whole
