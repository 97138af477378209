"""The pure on-call engine stays bounded on pathological rotations (1-second
turns under long shifts), so /oncalls, paging and overflow rendering cannot hang a worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.errors import InvalidInput
from tocsin.schedules import oncall, rotation
from tocsin.schedules.layers import LayerDef
from tocsin.schedules.oncall import Layer, Override, on_call_entry_at, render_schedule
from tocsin.schedules.queries import OnCallSource, gaps_between, shifts_between
from tocsin.schedules.rendering import TooManyTurns, render

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def turns(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the rotation turns the engine generates."""
    counted = [0]
    real = rotation._turns_within

    def counting(layer: rotation.CompiledLayer, windows: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        pieces = real(layer, windows)
        counted[0] += len(pieces)
        return pieces

    monkeypatch.setattr(rotation, "_turns_within", counting)
    return counted


def test_shift_at_under_a_long_override_renders_a_bounded_number_of_turns(turns: list[int]) -> None:
    fast = Layer("fast", T0, None, ("u1", "u2"), T0, 1)
    override = Override("o", T0, T0 + timedelta(days=10), "z")
    entry = on_call_entry_at([fast], [override], "UTC", T0 + timedelta(days=5))
    # Rendering the whole override would walk 864,000 one-second turns per side; the shift is
    # cut where the budget runs out instead (it was 14 s and 600 MB for a 30-day override).
    assert entry is not None and entry.user == "z"
    assert T0 <= entry.start < T0 + timedelta(days=5) < entry.end <= T0 + timedelta(days=10)
    assert turns[0] <= 2 * oncall.PROBE_TURN_BUDGET


def test_shift_at_with_a_long_turn_layer_beside_a_one_second_layer_is_bounded(turns: list[int]) -> None:
    slow = Layer("slow", T0, None, ("x", "y"), T0, 366 * 86_400)
    fast = Layer("fast", T0, None, ("u1", "u2"), T0, 1)
    entry = on_call_entry_at([slow, fast], [], "UTC", T0 + timedelta(days=5, microseconds=500))
    assert entry is not None and entry.user == "u1"
    assert entry.end - entry.start == timedelta(seconds=1)
    assert turns[0] <= 2 * oncall.PROBE_TURN_BUDGET


def test_overflow_rendering_is_bounded_beyond_the_window(turns: list[int]) -> None:
    fast = Layer("fast", T0, None, ("u1", "u2"), T0, 1)
    override = Override("o", T0, T0 + timedelta(days=10), "z")
    since, until = T0 + timedelta(days=4), T0 + timedelta(days=4, hours=1)
    result = render_schedule([fast], [override], "UTC", since, until, overflow=True)
    assert [e.user for e in result.final] == ["z"]
    assert result.final[0].start < since and result.final[0].end > until  # extended, within the budget
    assert turns[0] <= 3 * oncall.PROBE_TURN_BUDGET


def test_ordinary_shifts_still_overflow_to_their_real_ends() -> None:
    weekly = Layer("w", T0, None, ("a", "b"), T0, 7 * 86_400)
    override = Override("o", T0 + timedelta(days=1), T0 + timedelta(days=40), "z")
    entry = on_call_entry_at([weekly], [override], "UTC", T0 + timedelta(days=20))
    assert entry is not None and (entry.start, entry.end, entry.user) == (
        T0 + timedelta(days=1), T0 + timedelta(days=40), "z")


def _restricted_version(i: int, restrictions: int) -> LayerDef:
    return LayerDef(
        version_id=f"v{i}", layer_id=f"l{i}", position=i, name=f"L{i}", start=T0, end=None,
        rotation_virtual_start=T0, rotation_turn_length_seconds=86_400,
        restrictions=tuple(("daily_restriction", f"{h % 24:02d}:{h % 60:02d}:00", 600, None)
                           for h in range(restrictions)),
        users=("u1",),
    )


def test_a_window_with_millions_of_restriction_windows_is_refused() -> None:
    """50 layers x 100 daily restrictions over a year is 1.8M windows (~30 s of rendering):
    the same 400 as too many rotation turns, before any rendering starts."""
    versions = [_restricted_version(i, 100) for i in range(50)]
    with pytest.raises(TooManyTurns):
        render(versions, [], "Etc/UTC", T0, T0 + timedelta(days=366), False)
    source = OnCallSource("S", "S", "Etc/UTC", tuple(v.engine_layer() for v in versions), ())
    assert gaps_between(source, T0, T0 + timedelta(days=366)) is None
    with pytest.raises(InvalidInput):
        shifts_between(source, T0, T0 + timedelta(days=366))


def test_ordinary_restrictions_still_render_a_year() -> None:
    versions = [_restricted_version(i, 7) for i in range(5)]
    result = render(versions, [], "Etc/UTC", T0, T0 + timedelta(days=366), False)
    assert len(result.result.final) > 300
