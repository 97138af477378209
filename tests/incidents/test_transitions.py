"""The transition seam, pure: commands on a snapshot yield typed records; records yield log entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract import spec_or_skip
from tocsin.incidents import transition_records as r
from tocsin.incidents import transitions as t
from tocsin.incidents.transition_log import LOG_TYPES, log_entries, log_entry, stamp_in_order

T0 = datetime(2030, 1, 1, tzinfo=UTC)
USER = {"id": "PUSER01", "type": "user_reference"}
SERVICE = {"id": "PSERV01", "type": "service_reference"}


def act(seconds: int = 0, agent: dict[str, str] = USER) -> r.Act:
    return r.Act(T0 + timedelta(seconds=seconds), agent, {"type": "api"})


START = r.IncidentState(id="PINC001", status="triggered", policy_id="PPOL001", title="CPU high")


def opened(assignees: tuple[str, ...] | None = ("PALICE1",)) -> tuple[r.IncidentState, list[r.Record]]:
    return t.run(START, r.Open("PALERT1", assignees), act())


def test_open_triggers_and_assigns_like_rest() -> None:
    state, records = opened(("PALICE1", "PBOB001", "PALICE1"))
    assert [type(r) for r in records] == [r.Triggered, r.Assigned]
    assigned = records[1]
    assert isinstance(assigned, r.Assigned)
    assert assigned.to_users == ("PALICE1", "PBOB001")  # each user once
    assert (state.status, state.assignees, state.assigned_at) == ("triggered", ("PALICE1", "PBOB001"), T0)
    assert [type(r) for r in opened(None)[1]] == [r.Triggered]  # no policy: no assignment step


def test_acknowledge_then_resolve() -> None:
    state, _ = opened()
    state, [ack] = t.run(state, r.Acknowledge(SERVICE), act(5, SERVICE))
    assert isinstance(ack, r.Acknowledged) and ack.acknowledger == SERVICE
    assert state.acknowledgements == ({"at": (T0 + timedelta(seconds=5)).isoformat(), "acknowledger": SERVICE},)
    assert t.decide(state, r.Acknowledge(SERVICE, only_if_triggered=True), act(6)) == []
    state, [resolved] = t.run(state, r.Resolve("PALERT1"), act(9))
    assert isinstance(resolved, r.Resolved) and resolved.alert_id == "PALERT1"
    assert (state.status, state.assignees, state.resolved_at) == ("resolved", (), T0 + timedelta(seconds=9))


def test_nothing_changed_nothing_recorded() -> None:
    state, _ = opened()
    assert t.decide(state, r.Unacknowledge(), act()) == []
    assert t.decide(state, r.SetUrgency("high"), act()) == []
    assert t.decide(state, r.SetPriority(None), act()) == []
    assert t.decide(state, r.Reassign(("PALICE1",)), act()) == []
    assert t.decide(state, r.Snooze(T0), act()) == []  # only acknowledged incidents snooze
    assert t.decide(state, r.Reopen(), act()) == []
    assert t.decide(state, r.Merge(state.id), act()) == []
    resolved, _ = t.run(state, r.Resolve(), act())
    for command in (r.Resolve(), r.Acknowledge(USER), r.AddTrigger("PALERT1"), r.Merge("POTHER1"),
                    r.Escalate(2, ("PBOB001",)), r.Reassign(("PBOB001",))):
        assert t.decide(resolved, command, act()) == [], command


def test_reassigning_an_acknowledged_incident_retriggers_it() -> None:
    state, _ = opened()
    state, _ = t.run(state, r.Acknowledge(USER), act())
    state, [record] = t.run(state, r.Reassign(("PBOB001",)), act(1))
    assert isinstance(record, r.Reassigned)
    assert (record.from_users, record.to_users, record.retriggered) == (("PALICE1",), ("PBOB001",), True)
    assert (state.status, state.acknowledgements) == ("triggered", ())


def test_merge_resolves_the_source_naming_the_target() -> None:
    state, _ = opened()
    state, [record] = t.run(state, r.Merge("PTARGET"), act(3))
    assert isinstance(record, r.Merged) and isinstance(record, r.Resolved)
    assert (state.status, state.merged_into_id, state.assignees) == ("resolved", "PTARGET", ())
    entry = log_entry(record, "PSERV01")
    assert entry is not None and entry["type"] == "resolve_log_entry"


def test_priority_change_is_a_field_value_change_with_its_changeset() -> None:
    state, _ = opened()
    _, [record] = t.run(state, r.SetPriority("PPRIOR1"), act())
    entry = log_entry(record, "PSERV01", labels={"PPRIOR1": "P1"})
    assert entry is not None
    assert entry["type"] == "field_value_change_log_entry"
    assert entry["summary"] == "Priority changed to P1."
    assert entry["channel"]["changeset"]["application_fields"] == [
        {"name": "priority", "namespace": "incidents", "old_value": None, "value": "PPRIOR1"}]


def test_every_log_type_is_one_pagerduty_publishes() -> None:
    spec = spec_or_skip()
    published = set(spec["components"]["schemas"]["LogEntry"]["allOf"][1]["properties"]["type"]["enum"])
    assert {kind for kind in LOG_TYPES.values() if kind} <= published
    # Every record type is in the table (None: PagerDuty writes no entry), so none is forgotten.
    assert set(LOG_TYPES) == _leaf_record_types(r.Record)


def _leaf_record_types(base: type[r.Record]) -> set[type[r.Record]]:
    """Every record class below ``base`` except the shared shape ``HandedOver``. (A slots dataclass
    replaces its class, so only the one the module exports counts.)"""
    found: set[type[r.Record]] = set()
    for sub in base.__subclasses__():
        if getattr(r, sub.__name__) is sub:
            found |= ({sub} if sub is not r.HandedOver else set()) | _leaf_record_types(sub)
    return found


def test_entries_of_one_instant_keep_their_order() -> None:
    _, records = opened()
    rows = log_entries(records, lambda _: "PSERV01")
    stamp_in_order(rows, {})
    assert [row["created_at"] for row in rows] == [T0, T0 + timedelta(microseconds=1)]


def test_title_bridge_and_received_alerts_are_recorded_without_a_log_entry() -> None:
    state, _ = opened()
    bridge = {"conference_number": "+1 555 0100", "conference_url": "https://meet.example/x"}
    state, [title] = t.run(state, r.SetTitle("Disk full"), act(1))
    state, [bridged] = t.run(state, r.SetConferenceBridge(bridge), act(2))
    state, [moved] = t.run(state, r.ReceiveAlerts("POTHER1", ("PALERT7",)), act(3))
    assert title == r.TitleChanged("PINC001", T0 + timedelta(seconds=1), USER, {"type": "api"}, "",
                                   from_title="CPU high", to_title="Disk full")
    assert isinstance(bridged, r.ConferenceBridgeChanged) and (bridged.from_bridge, bridged.to_bridge) == (None, bridge)
    assert isinstance(moved, r.AlertsMoved) and (moved.from_incident_id, moved.alert_ids) == ("POTHER1", ("PALERT7",))
    assert (state.title, state.description, state.conference_bridge) == ("Disk full", "Disk full", bridge)
    assert state.updated_at == T0 + timedelta(seconds=3)
    # PagerDuty's LogEntry types have none for these: the records reach the engine and webhooks only.
    assert [log_entry(x, "PSERV01") for x in (title, bridged, moved)] == [None, None, None]
    assert t.decide(state, r.SetTitle("Disk full"), act()) == []
    assert t.decide(state, r.SetConferenceBridge(bridge), act()) == []
    assert t.decide(state, r.ReceiveAlerts("POTHER1", ()), act()) == []


# --- properties ------------------------------------------------------------------------------

USERS = st.tuples(*[st.sampled_from(["PALICE1", "PBOB001", "PCAROL1"])] * 2)
COMMANDS = st.one_of(
    st.builds(r.AddTrigger, st.just("PALERT2")),
    st.builds(r.Acknowledge, st.just(USER), st.booleans()),
    st.just(r.Unacknowledge()),
    st.builds(r.Resolve, st.sampled_from([None, "PALERT1"])),
    st.builds(r.Reopen, st.one_of(st.none(), USERS), st.sampled_from([None, "PPOL002"])),
    st.builds(r.Reassign, USERS, st.booleans()),
    st.builds(r.Delegate, st.sampled_from(["PPOL001", "PPOL002"]), USERS, st.booleans()),
    st.builds(r.Escalate, st.integers(1, 3), USERS, st.booleans()),
    st.builds(r.Snooze, st.just(T0 + timedelta(hours=1))),
    st.builds(r.SetUrgency, st.sampled_from(["high", "low"])),
    st.builds(r.SetPriority, st.sampled_from([None, "PPRIOR1", "PPRIOR2"])),
    st.builds(r.Merge, st.sampled_from(["PINC001", "PTARGET"])),
    st.just(r.Annotate()),
    st.builds(r.SetTitle, st.sampled_from(["CPU high", "Disk full"])),
    st.builds(r.SetConferenceBridge, st.sampled_from([None, {"conference_url": "https://meet.example/x"}])),
    st.builds(r.ReceiveAlerts, st.sampled_from(["PINC001", "POTHER1"]), st.sampled_from([(), ("PALERT9",)])),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(COMMANDS, max_size=12), st.one_of(st.none(), USERS))
def test_any_sequence_of_commands_keeps_the_invariants(
    commands: list[r.Command], first: tuple[str, ...] | None,
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
        # No record, no change; every record yields its log entry of a published type, or none
        # where PagerDuty writes none.
        if not made:
            assert state == before
        for record in made:
            assert record.incident_id == state.id and record.at == T0 + timedelta(seconds=n)
            entry = log_entry(record, "PSERV01")
            if LOG_TYPES[type(record)] is None:
                assert entry is None  # a change PagerDuty logs nothing for
            else:
                assert entry is not None and entry["type"] == LOG_TYPES[type(record)]
                assert entry["incident_id"] == state.id
        records.extend(made)
    # The records alone tell the whole story: applying them to the starting snapshot gives the
    # state the writers store (what the engine and webhooks, fed only records, will see).
    replayed = START
    for record in records:
        replayed = t.evolve(replayed, record)
    assert replayed == state
