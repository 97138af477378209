"""What the schedule pages show, read through the schedules domain's own logic and queries: the
list (who is on call now in each schedule, the on-call query ``GET /oncalls`` uses), and one
schedule drawn over a window of one to four weeks in the viewer's zone: the same rendering
``GET /schedules/{id}`` answers with (``schedules.rendering.render``: each layer, the effective
overrides, the final schedule), turned into blocks by the pure ``tocsin.ui.drawing``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.errors import InvalidInput
from tocsin.http.params import MAX_YEAR, MIN_YEAR
from tocsin.schedules import logic
from tocsin.schedules.layers import LayerDef
from tocsin.schedules.models import Schedule
from tocsin.schedules.oncall import OVERFLOW_HORIZON
from tocsin.schedules.queries import live_schedules, on_call_sources, shift_at
from tocsin.schedules.rendering import TooManyTurns, render
from tocsin.schedules.zones import zone_info
from tocsin.ui import drawing
from tocsin.ui.drawing import Block, Frame, Shift, Tick
from tocsin.users.queries import live_user_names, user_refs

DEFAULT_WEEKS = 2


@dataclass(frozen=True)
class ListRow:
    id: str
    name: str
    time_zone: str
    on_call: str | None  # who, by name; None: a gap now
    until: datetime | None


async def schedule_rows(session: AsyncSession, now: datetime) -> list[ListRow]:
    """Every live schedule, by name, with the final schedule's shift at ``now`` (a few queries
    whatever the number of schedules: ``on_call_sources`` loads them all at once)."""
    schedules = await live_schedules(session)
    sources = await on_call_sources(session, [s.id for s in schedules], now, now)
    shifts = {sid: shift_at(source, now) for sid, source in sources.items()}
    names = {u: f.name for u, f in (await user_refs(session, {s.user for s in shifts.values() if s})).items()}
    rows = []
    for s in schedules:
        shift = shifts.get(s.id)
        rows.append(ListRow(s.id, s.name, s.time_zone, names.get(shift.user, shift.user) if shift else None,
                            shift.end if shift else None))
    return rows


# --- the window asked for -------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """The query parameters of a schedule's page, checked: its first day, length and zone."""

    first_day: date
    weeks: int
    zone: ZoneInfo
    zone_name: str
    tz_param: str  # "" unless the viewer chose a zone other than their own

    def link(self, schedule_id: str, first_day: date | None = None) -> str:
        query: dict[str, Any] = {"start": (first_day or self.first_day).isoformat(), "weeks": self.weeks}
        if self.tz_param:
            query["tz"] = self.tz_param
        return f"/ui/schedules/{schedule_id}?{urlencode(query)}"


def viewer_zone(params: Any, own_zone: str) -> tuple[ZoneInfo, str, str]:
    """The viewer's zone (their profile's), or the ``tz`` parameter's when it names a real one."""
    asked = str(params.get("tz", "")).strip()[:64]
    if asked:
        try:
            return zone_info(asked), asked, asked
        except ValueError:
            raise InvalidInput("Unknown time zone", errors=[
                f"{asked!r} is not a time zone: use an IANA name such as Europe/Paris"]) from None
    try:
        return zone_info(own_zone), own_zone, ""
    except ValueError:  # a profile from before zones were checked: show UTC rather than fail
        return zone_info("Etc/UTC"), "Etc/UTC", ""


def parse_window(params: Any, own_zone: str, now: datetime) -> Window:
    zone, zone_name, tz_param = viewer_zone(params, own_zone)
    raw_weeks = str(params.get("weeks", DEFAULT_WEEKS))
    if not raw_weeks.isdigit() or not 1 <= int(raw_weeks) <= drawing.MAX_WEEKS:
        raise InvalidInput("Invalid number of weeks", errors=[f"weeks must be 1 to {drawing.MAX_WEEKS}"])
    raw_start = str(params.get("start", "")).strip()
    if raw_start:
        try:
            first_day = date.fromisoformat(raw_start[:10])
        except ValueError:
            raise InvalidInput("Invalid start day", errors=[
                f"start {raw_start[:40]!r} is not a day: write it as YYYY-MM-DD"]) from None
        if not MIN_YEAR < first_day.year < MAX_YEAR:
            raise InvalidInput("Invalid start day", errors=[f"start must be between {MIN_YEAR} and {MAX_YEAR}"])
    else:
        first_day = now.astimezone(zone).date()
    return Window(first_day, int(raw_weeks), zone, zone_name, tz_param)


# --- one schedule drawn ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Painted:
    """A block as the template writes it: placed (percent, as text), styled, and in words."""

    block: Block
    x: str
    width: str
    css: str
    text: str  # who, how, from, until: the block's title and accessible name
    label: str  # what fits inside it


@dataclass
class Lane:
    key: str  # "final", "overrides", or a layer's id
    title: str
    blocks: list[Block]
    note: str = ""
    painted: list[Painted] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Mark:
    """A day (or quarter-day) line of the drawing, placed as text."""

    x: str
    tick: Tick


@dataclass
class ScheduleView:
    schedule: Schedule
    window: Window
    frame: Frame
    lanes: list[Lane]
    names: dict[str, str]
    days: list[Mark]
    hours: list[Mark]
    now_x: str | None
    on_call_now: Shift | None  # the final schedule's shift at now, wherever the window is
    today: date  # on the viewer's clock
    too_dense: bool = False
    people: list[tuple[str, str]] = field(default_factory=list)  # who may take an override

    def when(self, at: datetime) -> str:
        return drawing.wall(at, self.window.zone)

    def link(self, first_day: date | None = None) -> str:
        return self.window.link(self.schedule.id, first_day)

    @property
    def last_day(self) -> date:
        return self.frame.next_day - timedelta(days=1)

    @staticmethod
    def day(value: date) -> str:
        return f"{drawing.DAYS[value.weekday()]} {value.day} {drawing.MONTHS[value.month - 1]} {value.year}"


HOW = {"override": " (override)", "gap": " on call: a gap", "shift": ""}


def paint(lanes: list[Lane], names: dict[str, str], f: Frame) -> None:
    """Each lane's blocks as the template writes them. Done here, once per block (the template
    would format every instant twice), with each distinct instant formatted once."""
    walls: dict[datetime, str] = {}

    def wall(at: datetime) -> str:
        found = walls.get(at)
        if found is None:
            found = walls[at] = drawing.wall(at, f.zone)
        return found

    for lane in lanes:
        for b in lane.blocks:
            who = "Nobody" if b.user_id is None else names.get(b.user_id, b.user_id)
            colour = "gap" if b.user_id is None else f"c{drawing.colour(b.user_id)}"
            text = (f"{who}{HOW[b.kind]}, from {wall(b.shift_start)} until {wall(b.shift_end)}"
                    f"{', on call now' if b.current else ''}")
            lane.painted.append(Painted(b, f"{b.x:.4f}", f"{b.width:.4f}",
                                        f"block kind-{b.kind} {colour}{' current' if b.current else ''}", text,
                                        drawing.label(who, b.width, f.weeks)))


def _shifts(entries: Any) -> list[Shift]:
    return [Shift(e.start, e.end, e.user) for e in entries]


def _layer_names(versions: list[LayerDef]) -> list[tuple[str, str, bool]]:
    """(layer id, name, still in the schedule) of each layer, in precedence order (the
    renderer's: a later layer beats an earlier one); a layer's latest version names it."""
    latest: dict[str, LayerDef] = {}
    for v in versions:
        if v.layer_id not in latest or (v.current, v.start) >= (latest[v.layer_id].current, latest[v.layer_id].start):
            latest[v.layer_id] = v
    ordered = sorted(latest.values(), key=lambda v: (not v.current, v.position))
    return [(v.layer_id, v.name, v.current) for v in ordered]


async def schedule_view(session: AsyncSession, schedule_id: str, window: Window, now: datetime,
                        with_people: bool) -> ScheduleView:
    schedule = await logic.get_schedule(session, schedule_id)
    f = drawing.frame(window.first_day, window.weeks, window.zone)
    versions = (await logic.layer_versions(session, [schedule_id]))[schedule_id]
    # Overflowing shifts reach up to the renderer's horizon beyond either edge (queries.on_call_sources).
    overrides = await logic.overrides_in(session, schedule_id, f.since - OVERFLOW_HORIZON, f.until + OVERFLOW_HORIZON)
    lanes: list[Lane] = []
    too_dense = False
    try:
        # overflow: shifts crossing the window's edges come whole, so each block says its true start and end
        rendering = render(versions, overrides, schedule.time_zone, f.since, f.until, True)
    except TooManyTurns:
        too_dense, rendering = True, None
    ids: set[str] = set()
    if rendering is not None:
        result = rendering.result
        effective = _shifts(result.overrides)
        final = drawing.final_row(f, _shifts(result.final), effective, now)
        lanes.append(Lane("final", "Final schedule", final, f"{result.final_coverage:.0f}% covered"))
        lanes.append(Lane("overrides", "Overrides", drawing.row(f, effective, now, "override"),
                          f"{len(effective)} in this window" if effective else "None in this window"))
        for layer_id, name, kept in _layer_names(versions):
            blocks = drawing.row(f, _shifts(rendering.layers.get(layer_id, [])), now)
            if kept or blocks:
                lanes.append(Lane(layer_id, name, blocks, "" if kept else "removed"))
        ids = {b.user_id for lane in lanes for b in lane.blocks if b.user_id}
    if rendering is not None and f.contains(now):  # the rendering's whole shifts hold the one at now
        found = next((e for e in rendering.result.final if e.start <= now < e.end), None)
        on_call_now = Shift(found.start, found.end, found.user) if found else None
    else:
        live = await on_call_sources(session, [schedule_id], now, now)
        entry = shift_at(live[schedule_id], now) if schedule_id in live else None
        on_call_now = Shift(entry.start, entry.end, entry.user) if entry else None
    if on_call_now is not None:
        ids.add(on_call_now.user_id)
    names = {uid: u.name for uid, u in (await logic.users_by_id(session, ids)).items()}
    paint(lanes, names, f)
    return ScheduleView(
        schedule, window, f, lanes, names, [Mark(f"{t.x:.4f}", t) for t in drawing.day_ticks(f)],
        [Mark(f"{t.x:.4f}", t) for t in drawing.hour_ticks(f)] if f.weeks == 1 else [],
        f"{f.x(now):.4f}" if f.contains(now) else None, on_call_now, now.astimezone(window.zone).date(), too_dense,
        await live_user_names(session) if with_people else [])
