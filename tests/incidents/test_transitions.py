"""The transition seam, pure: commands on a snapshot yield typed records; records yield log entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract import spec_or_skip
from tocsin.incidents import transitions as t
from tocsin.incidents.transition_log import LOG_TYPES, log_entry, stamp_in_order

T0 = datetime(2030, 1, 1, tzinfo=UTC)
USER = {"id": "PUSER01", "type": "user_reference"}
SERVICE = {"id": "PSERV01", "type": "service_reference"}


def act(seconds: int = 0, agent: dict[str, str] = USER) -> t.Act:
    return t.Act(T0 + timedelta(seconds=seconds), agent, {"type": "api"})


def opened(assignees: tuple[str, ...] | None = ("PALICE1",)) -> tuple[t.IncidentState, list[t.Record]]:
    return t.run(t.IncidentState(id="PINC001", status="triggered", policy_id="PPOL001"),
                 t.Open("PALERT1", assignees), act())


def test_open_triggers_and_assigns_like_rest() -> None:
    state, records = opened(("PALICE1", "PBOB001", "PALICE1"))
    assert [type(r) for r in records] == [t.Triggered, t.Assigned]
    assigned = records[1]
    assert isinstance(assigned, t.Assigned)
    assert assigned.to_users == ("PALICE1", "PBOB001")  # each user once
    assert (state.status, state.assignees, state.assigned_at) == ("triggered", ("PALICE1", "PBOB001"), T0)
    assert [type(r) for r in opened(None)[1]] == [t.Triggered]  # no policy: no assignment step


def test_acknowledge_then_resolve() -> None:
    state, _ = opened()
    state, [ack] = t.run(state, t.Acknowledge(SERVICE), act(5, SERVICE))
    assert isinstance(ack, t.Acknowledged) and ack.acknowledger == SERVICE
    assert state.acknowledgements == ({"at": (T0 + timedelta(seconds=5)).isoformat(), "acknowledger": SERVICE},)
    assert t.decide(state, t.Acknowledge(SERVICE, only_if_triggered=True), act(6)) == []
    state, [resolved] = t.run(state, t.Resolve("PALERT1"), act(9))
    assert isinstance(resolved, t.Resolved) and resolved.alert_id == "PALERT1"
    assert (state.status, state.assignees, state.resolved_at) == ("resolved", (), T0 + timedelta(seconds=9))


def test_nothing_changed_nothing_recorded() -> None:
    state, _ = opened()
    assert t.decide(state, t.Unacknowledge(), act()) == []
    assert t.decide(state, t.SetUrgency("high"), act()) == []
    assert t.decide(state, t.SetPriority(None), act()) == []
    assert t.decide(state, t.Reassign(("PALICE1",)), act()) == []
    assert t.decide(state, t.Snooze(T0), act()) == []  # only acknowledged incidents snooze
    assert t.decide(state, t.Reopen(), act()) == []
    assert t.decide(state, t.Merge(state.id), act()) == []
    resolved, _ = t.run(state, t.Resolve(), act())
    for command in (t.Resolve(), t.Acknowledge(USER), t.AddTrigger("PALERT1"), t.Merge("POTHER1"),
                    t.Escalate(2, ("PBOB001",)), t.Reassign(("PBOB001",))):
        assert t.decide(resolved, command, act()) == [], command


def test_reassigning_an_acknowledged_incident_retriggers_it() -> None:
    state, _ = opened()
    state, _ = t.run(state, t.Acknowledge(USER), act())
    state, [record] = t.run(state, t.Reassign(("PBOB001",)), act(1))
    assert isinstance(record, t.Reassigned)
    assert (record.from_users, record.to_users, record.retriggered) == (("PALICE1",), ("PBOB001",), True)
    assert (state.status, state.acknowledgements) == ("triggered", ())


def test_merge_resolves_the_source_naming_the_target() -> None:
    state, _ = opened()
    state, [record] = t.run(state, t.Merge("PTARGET"), act(3))
    assert isinstance(record, t.Merged) and isinstance(record, t.Resolved)
    assert (state.status, state.merged_into_id, state.assignees) == ("resolved", "PTARGET", ())
    assert log_entry(record, "PSERV01")["type"] == "resolve_log_entry"


def test_priority_change_is_a_field_value_change_with_its_changeset() -> None:
    state, _ = opened()
    _, [record] = t.run(state, t.SetPriority("PPRIOR1"), act())
    entry = log_entry(record, "PSERV01", labels={"PPRIOR1": "P1"})
    assert entry["type"] == "field_value_change_log_entry"
    assert entry["summary"] == "Priority changed to P1."
    assert entry["channel"]["changeset"]["application_fields"] == [
        {"name": "priority", "namespace": "incidents", "old_value": None, "value": "PPRIOR1"}]


def test_every_log_type_is_one_pagerduty_publishes() -> None:
    spec = spec_or_skip()
    published = set(spec["components"]["schemas"]["LogEntry"]["allOf"][1]["properties"]["type"]["enum"])
    assert set(LOG_TYPES.values()) <= published


def test_entries_of_one_instant_keep_their_order() -> None:
    _, records = opened()
    rows = [log_entry(r, "PSERV01") for r in records]
    stamp_in_order(rows, {})
    assert [r["created_at"] for r in rows] == [T0, T0 + timedelta(microseconds=1)]


# --- properties ------------------------------------------------------------------------------

USERS = st.tuples(*[st.sampled_from(["PALICE1", "PBOB001", "PCAROL1"])] * 2)
COMMANDS = st.one_of(
    st.builds(t.AddTrigger, st.just("PALERT2")),
    st.builds(t.Acknowledge, st.just(USER), st.booleans()),
    st.just(t.Unacknowledge()),
    st.builds(t.Resolve, st.sampled_from([None, "PALERT1"])),
    st.builds(t.Reopen, st.one_of(st.none(), USERS), st.sampled_from([None, "PPOL002"])),
    st.builds(t.Reassign, USERS, st.booleans()),
    st.builds(t.Delegate, st.sampled_from(["PPOL001", "PPOL002"]), USERS, st.booleans()),
    st.builds(t.Escalate, st.integers(1, 3), USERS, st.booleans()),
    st.builds(t.Snooze, st.just(T0 + timedelta(hours=1))),
    st.builds(t.SetUrgency, st.sampled_from(["high", "low"])),
    st.builds(t.SetPriority, st.sampled_from([None, "PPRIOR1", "PPRIOR2"])),
    st.builds(t.Merge, st.sampled_from(["PINC001", "PTARGET"])),
    st.just(t.Annotate()),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(COMMANDS, max_size=12), st.one_of(st.none(), USERS))
def test_any_sequence_of_commands_keeps_the_invariants(
    commands: list[t.Command], first: tuple[str, ...] | None,
) -> None:
    state, records = opened(first)
    for n, command in enumerate(commands, start=1):
        before = state
        state, made = t.run(state, command, act(n))
        # A resolved incident is assigned to nobody and has its resolution time; an open one has none.
        assert (state.status == "resolved") == (state.resolved_at is not None)
        if state.status == "resolved":
            assert state.assignees == () and state.snoozed_until is None
        if state.status != "acknowledged":
            assert state.snoozed_until is None
        # No record, no change; every record yields exactly one log entry of a published type.
        if not made:
            assert state == before
        for record in made:
            assert record.incident_id == state.id and record.at == T0 + timedelta(seconds=n)
            entry = log_entry(record, "PSERV01")
            assert entry["type"] in LOG_TYPES.values() and entry["incident_id"] == state.id
        records.extend(made)
    assert len({id(r) for r in records}) == len(records)
