"""The incident as each record left it (pure), checked against the transition seam itself: for
any sequence of commands on a triggered incident, replaying the records from the committed state
gives, after each record, the fields ``transitions.evolve`` gave."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tocsin.incidents.transition_records import (
    Acknowledge,
    Act,
    Annotate,
    Assigned,
    Command,
    Escalate,
    IncidentState,
    Merge,
    Open,
    Reassign,
    Reopen,
    Reopened,
    Resolve,
    SetConferenceBridge,
    SetPriority,
    SetTitle,
    SetUrgency,
    Triggered,
    Unacknowledge,
)
from tocsin.incidents.transitions import decide, evolve
from tocsin.webhooks.moments import Moment, moments

AT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
ACT = Act(at=AT, agent={"id": "PUSER01", "type": "user_reference"}, channel={"type": "api"})
USERS = st.lists(st.sampled_from(["PA", "PB", "PC"]), min_size=1, max_size=2, unique=True).map(tuple)
COMMANDS: st.SearchStrategy[Command] = st.one_of(
    st.builds(Acknowledge, st.just({"id": "PUSER01", "type": "user_reference"})),
    st.just(Unacknowledge()), st.builds(Resolve), st.builds(Merge, st.just("PTARGET")),
    st.builds(Reopen, USERS), st.builds(Reassign, USERS), st.builds(Escalate, st.integers(1, 3), USERS),
    st.builds(SetPriority, st.sampled_from([None, "PP1", "PP2"])),
    st.builds(SetUrgency, st.sampled_from(["high", "low"])),
    st.builds(SetTitle, st.sampled_from(["a", "b"])), st.just(Annotate()),
    st.builds(SetConferenceBridge, st.sampled_from([None, {"conference_url": "https://x"}])),
)


def view(state: IncidentState) -> Moment:
    return Moment(status=state.status, assignees=state.assignees, priority_id=state.priority_id,
                  urgency=state.urgency, title=state.title, conference_bridge=state.conference_bridge,
                  merged_into_id=state.merged_into_id)


@given(st.lists(COMMANDS, max_size=8), st.booleans())
def test_replaying_gives_each_moment(commands: list[Command], from_open: bool) -> None:
    state = IncidentState(id="PINC", status="triggered", assignees=() if from_open else ("PA",), title="t")
    records, truth = [], []
    if from_open:
        commands = [Open(assignees=("PB",)), *commands]
    for command in commands:
        for record in decide(state, command, ACT):
            state = evolve(state, record)
            records.append(record)
            truth.append(view(state))
    if not records:
        return
    replayed = moments(view(state), records)
    assert replayed[-1] == truth[-1]
    for i, (record, got, want) in enumerate(zip(records, replayed, truth, strict=True)):
        assert got.status == want.status, record
        assert got.priority_id == want.priority_id and got.urgency == want.urgency
        assert got.title == want.title and got.conference_bridge == want.conference_bridge
        # Assignees are known from the opening on; an opening (trigger, reopen) shows the first
        # assignment that comes with it, as PagerDuty's incident.triggered does.
        opening = isinstance(record, Triggered | Reopened) and i + 1 < len(records) \
            and isinstance(records[i + 1], Assigned)
        if from_open:
            assert got.assignees == (truth[i + 1] if opening else want).assignees, record
