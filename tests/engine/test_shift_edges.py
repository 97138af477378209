"""Shift edges: where a user's stretch on call starts and ends, merged across touching entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.engine.shift_edges import END, START, edges, merged

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_handover_is_an_end_and_a_start_at_the_same_instant() -> None:
    shifts = [("A", h(0), h(9)), ("B", h(9), h(17))]
    found = edges(shifts, h(8), h(10))
    assert [(e.user, e.event, e.at) for e in found] == [("A", END, h(9)), ("B", START, h(9))]
    assert found[1].shift_start == h(9) and found[1].shift_end == h(17)


def test_the_window_is_open_at_its_start_and_closed_at_its_end() -> None:
    shifts = [("A", h(0), h(9)), ("B", h(9), h(17))]
    assert edges(shifts, h(9), h(12)) == []
    assert len(edges(shifts, h(8), h(9))) == 2


def test_touching_entries_of_one_user_are_one_stretch() -> None:
    shifts = [("A", h(0), h(5)), ("A", h(5), h(9)), ("B", h(9), h(12))]
    assert merged(shifts)["A"] == [(h(0), h(9))]
    assert [(e.user, e.event) for e in edges(shifts, h(1), h(10))] == [("A", END), ("B", START)]


def test_a_gap_gives_an_end_then_a_start() -> None:
    shifts = [("A", h(0), h(2)), ("A", h(3), h(4))]
    assert [(e.event, e.at) for e in edges(shifts, h(1), h(5))] == [(END, h(2)), (START, h(3)), (END, h(4))]


SHIFTS = st.lists(
    st.tuples(st.sampled_from("ABC"), st.integers(0, 48), st.integers(1, 24)).map(
        lambda t: (t[0], h(t[1]), h(t[1] + t[2]))),
    max_size=12)


def _on_call(shifts: list[tuple[str, datetime, datetime]], user: str, at: datetime) -> bool:
    return any(u == user and s <= at < e for u, s, e in shifts)


@given(SHIFTS, st.integers(0, 70), st.integers(0, 30))
def test_every_edge_changes_whether_its_user_is_on_call(
    shifts: list[tuple[str, datetime, datetime]], after: int, length: int,
) -> None:
    found = edges(shifts, h(after), h(after + length))
    tick = timedelta(seconds=1)
    for edge in found:
        assert h(after) < edge.at <= h(after + length)
        before, since = _on_call(shifts, edge.user, edge.at - tick), _on_call(shifts, edge.user, edge.at)
        assert (before, since) == ((False, True) if edge.event == START else (True, False))
    # And every instant where someone's on-call state changes is an edge.
    instants = {t for _, s, e in shifts for t in (s, e) if h(after) < t <= h(after + length)}
    for at in instants:
        for user in "ABC":
            if _on_call(shifts, user, at - tick) != _on_call(shifts, user, at):
                assert any(e.user == user and e.at == at for e in found)
    assert found == sorted(found, key=lambda e: (e.at, e.event != END, e.user))
