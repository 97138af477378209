"""The maintenance rule as pure functions: the open interval, holding back triggers, and
settling a window's times."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.maintenance.rule import Hold, InvalidWindow, hold_back, is_open, settle_times, state

T0 = datetime(2030, 1, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class Ev:
    action: str
    key: str
    in_maintenance: bool = True


HOLD = Hold("PWINDOW", T0)


def split(events: list[Ev], open_keys: Iterable[str] = frozenset()) -> tuple[list[str], list[str]]:
    kept, held = hold_back(events, open_keys, key_of=lambda e: e.key,
                           hold_of=lambda e: HOLD if e.in_maintenance else None)
    return [f"{e.action}:{e.key}" for e in kept], [f"{e.action}:{e.key}" for e, _ in held]


def test_open_interval_includes_start_and_excludes_end() -> None:
    assert not is_open(T0, T0 + HOUR, T0 - timedelta(microseconds=1))
    assert is_open(T0, T0 + HOUR, T0)
    assert is_open(T0, T0 + HOUR, T0 + HOUR - timedelta(microseconds=1))
    assert not is_open(T0, T0 + HOUR, T0 + HOUR)
    assert [state(T0, T0 + HOUR, t) for t in (T0 - HOUR, T0, T0 + HOUR)] == ["future", "ongoing", "past"]


def test_trigger_without_open_alert_is_held() -> None:
    assert split([Ev("trigger", "a")]) == ([], ["trigger:a"])


def test_trigger_onto_an_alert_opened_before_the_window_dedups_as_usual() -> None:
    assert split([Ev("trigger", "a")], {"a"}) == (["trigger:a"], [])


def test_acknowledge_and_resolve_always_apply() -> None:
    events = [Ev("acknowledge", "a"), Ev("resolve", "a"), Ev("resolve", "b")]
    assert split(events, {"a"}) == (["acknowledge:a", "resolve:a", "resolve:b"], [])


def test_after_a_resolve_in_the_batch_the_next_trigger_is_held() -> None:
    events = [Ev("trigger", "a"), Ev("resolve", "a"), Ev("trigger", "a")]
    assert split(events, {"a"}) == (["trigger:a", "resolve:a"], ["trigger:a"])


def test_a_held_trigger_opens_nothing_so_its_followers_stay_held() -> None:
    events = [Ev("trigger", "a"), Ev("trigger", "a"), Ev("acknowledge", "a")]
    assert split(events) == (["acknowledge:a"], ["trigger:a", "trigger:a"])


def test_services_not_in_maintenance_are_untouched() -> None:
    events = [Ev("trigger", "a", False), Ev("trigger", "a", False), Ev("trigger", "b")]
    assert split(events) == (["trigger:a", "trigger:a"], ["trigger:b"])


def test_settle_moves_a_past_start_to_now_and_checks_the_end() -> None:
    assert settle_times(T0 - HOUR, T0 + HOUR, T0) == (T0, T0 + HOUR)
    assert settle_times(T0 + HOUR, T0 + 2 * HOUR, T0) == (T0 + HOUR, T0 + 2 * HOUR)
    with pytest.raises(InvalidWindow) as ended:
        settle_times(T0 - 2 * HOUR, T0 - HOUR, T0)
    assert ended.value.field == "end_time"
    with pytest.raises(InvalidWindow, match="after start_time"):
        settle_times(T0 + 2 * HOUR, T0 + HOUR, T0)
    with pytest.raises(InvalidWindow):
        settle_times(T0 + HOUR, T0 + HOUR, T0)


def test_settle_keeps_the_recorded_start_of_a_started_window() -> None:
    started = T0 - 3 * HOUR
    assert settle_times(T0 - HOUR, T0 + HOUR, T0, started_at=started) == (started, T0 + HOUR)
    # Not started yet: a past start still means now.
    assert settle_times(T0 - HOUR, T0 + HOUR, T0, started_at=T0 + HOUR) == (T0, T0 + HOUR)
