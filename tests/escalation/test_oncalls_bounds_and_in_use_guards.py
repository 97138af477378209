"""/oncalls and policy views stay bounded however many dense schedules they touch; a schedule or
user a live policy targets cannot be deleted."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import Harness
from tests.escalation.helpers import make_policy, make_schedule, make_user, schedule_target, user_target
from tests.helpers import assert_error
from tocsin.escalation import oncalls as oncalls_module
from tocsin.schedules import queries
from tocsin.schedules.model import Entry


async def test_oncalls_refuses_a_window_too_dense_across_schedules(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each schedule alone is under the limit, but together they are not: 400, and nothing is
    rendered (before, every schedule was rendered whole: six schedules of 41-second turns, each
    just under the per-schedule limit, took ~6 s). The limit and the window are scaled down here
    for speed: what matters is that each schedule alone is under the limit and both are over it."""
    monkeypatch.setattr(oncalls_module, "MAX_TOTAL_TURNS", 3_000)
    ann, bob = await make_user(h, "Ann"), await make_user(h, "Bob")
    # 10-minute turns: 2,160 turns in the 15 days asked about, per schedule (4,320 for both).
    schedules = [await make_schedule(h, [ann, bob], name=f"Dense {i}", rotation_turn_length_seconds=600)
                 for i in range(2)]
    await make_policy(h, [schedule_target(s) for s in schedules], name="Dense")

    rendered: list[str] = []
    real = queries.shifts_between

    def counting(source: queries.OnCallSource, since: datetime, until: datetime) -> list[Entry]:
        rendered.append(source.id)
        return real(source, since, until)

    monkeypatch.setattr(oncalls_module, "shifts_between", counting)
    r = await h.client.get("/oncalls", headers=h.auth, params={
        "since": "2030-01-01T00:00:00Z", "until": "2030-01-16T00:00:00Z"})
    error = assert_error(r, 400, 2001)
    assert any("until" in e for e in error["errors"]), error
    assert rendered == []
    r = await h.client.get("/oncalls", headers=h.auth, params={
        "since": "2030-01-01T00:00:00Z", "until": "2030-01-16T00:00:00Z", "schedule_ids[]": schedules[0]})
    assert r.status_code == 200, r.text  # one of them alone is within the limit
    # A narrower window over the same schedules is fine.
    r = await h.client.get("/oncalls", headers=h.auth, params={
        "since": "2030-01-01T00:00:00Z", "until": "2030-01-01T01:00:00Z", "limit": 100})
    assert r.status_code == 200, r.text
    assert len(r.json()["oncalls"]) >= 12  # six 10-minute turns in each of the two schedules


async def test_gap_warnings_share_one_rendering_budget(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of policies targeting many dense schedules used to render each one (up to ~1 s
    each); past a shared budget the rest are not checked for gaps."""
    from tocsin.escalation import logic

    ann, bob = await make_user(h, "Ann"), await make_user(h, "Bob")
    late = [await make_schedule(h, [ann, bob], name=f"Late {i}", start="2030-01-05T00:00:00Z",
                                rotation_turn_length_seconds=3600) for i in range(2)]
    policy = await make_policy(h, [schedule_target(s) for s in late], name="Late")
    assert {w["schedule"]["id"] for w in policy["warnings"]} == set(late)

    rendered: list[str] = []
    real = logic.gaps_between

    def counting(source: queries.OnCallSource, since: datetime,
                 until: datetime) -> list[tuple[datetime, datetime]] | None:
        rendered.append(source.id)
        return real(source, since, until)

    monkeypatch.setattr(logic, "gaps_between", counting)
    monkeypatch.setattr(logic, "GAP_TURN_BUDGET", 300)  # each schedule: 217 turns in the two weeks
    r = await h.client.get(f"/escalation_policies/{policy['id']}", headers=h.auth)
    assert r.status_code == 200, r.text
    assert len(rendered) == 1
    assert {w["schedule"]["id"] for w in r.json()["escalation_policy"]["warnings"]} == set(rendered)


async def test_a_schedule_a_live_policy_targets_cannot_be_deleted(h: Harness) -> None:
    """PagerDuty refuses (400) to delete a schedule an escalation policy uses. Deleting it anyway
    silently emptied the level (nobody paged) and made the policy's own GET->PUT round trip a 400."""
    ann = await make_user(h, "Ann")
    schedule = await make_schedule(h, [ann], name="Primary")
    policy = await make_policy(h, [schedule_target(schedule)], name="Uses it")
    error = assert_error(await h.client.delete(f"/schedules/{schedule}", headers=h.writer), 400, 2001)
    assert any("Uses it" in e and policy["id"] in e for e in error["errors"]), error
    assert (await h.client.get(f"/schedules/{schedule}", headers=h.auth)).status_code == 200
    # Once the policy no longer targets it (here: the policy is deleted), it can go.
    assert (await h.client.delete(f"/escalation_policies/{policy['id']}", headers=h.writer)).status_code == 204
    assert (await h.client.delete(f"/schedules/{schedule}", headers=h.writer)).status_code == 204


async def test_a_user_a_live_policy_targets_directly_cannot_be_deleted(h: Harness) -> None:
    """Like a schedule: deleting the user would leave a level paging nobody, and the policy's
    GET->PUT round trip would fail on the deleted target."""
    bob = await make_user(h, "Bob")
    policy = await make_policy(h, [user_target(bob)], name="Pages Bob")
    error = assert_error(await h.client.delete(f"/users/{bob}", headers=h.writer), 400, 2001)
    assert any("Pages Bob" in e and policy["id"] in e for e in error["errors"]), error
    assert (await h.client.get(f"/users/{bob}", headers=h.auth)).status_code == 200
    assert (await h.client.delete(f"/escalation_policies/{policy['id']}", headers=h.writer)).status_code == 204
    assert (await h.client.delete(f"/users/{bob}", headers=h.writer)).status_code == 204
