"""Allow list changes, in the caller's transaction: the rules, the self-lockout check, the audit
trail, and handing the new lists to the process's guard once the change commits.

Rules: each range is a CIDR (IPv4 or IPv6, no host bits set, not /0) listed once; at most 100
per list; an enabled list holds at least one range; each surface is restricted by at most one
list. A change that would refuse REST API requests from the address making it is refused unless
the request says ``force``; the command line (``tocsin allowlist``) is never locked out, since it
works on the database directly: it is how a locked-out operator gets back in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.allowlists import queries
from tocsin.allowlists.models import IpAllowList
from tocsin.allowlists.policy import (
    DISABLED,
    ENABLED,
    MAX_ENTRIES,
    REST_API,
    SURFACE_NAMES,
    SURFACES,
    ListRule,
    compile_policy,
)
from tocsin.audit.recorder import Actor, record
from tocsin.db.after_commit import after_commit
from tocsin.errors import InvalidInput, NotFound
from tocsin.http.wiring import AllowListsChanged
from tocsin.ids import new_id
from tocsin.outbound.addresses import parse_network

log = logging.getLogger(__name__)
RESOURCE = "ip_allow_list"
MAX_DESCRIPTION = 64  # PagerDuty's limit
CLI_ACTOR = Actor(type="app_reference", id="tocsin-cli", summary="tocsin command line", method_type="other")


@dataclass(frozen=True)
class ListFields:
    """What a caller sets: ``applies_to`` None keeps the list's surfaces (REST API for a new one)."""

    state: str
    entries: Sequence[tuple[str, str | None]]  # (cidr, description)
    applies_to: Sequence[str] | None = None


@dataclass(frozen=True)
class Requester:
    """Who asks, for the self-lockout rule: the REST client's address (None: unknown) and whether
    it said ``force=true``. ``offline``: the command line, which no allow list can lock out."""

    address: str | None
    force: bool = False
    offline: bool = False


COMMAND_LINE = Requester(address=None, offline=True)


def summary(applies_to: Sequence[str]) -> str:
    return "IP allow list for the " + " and ".join(SURFACE_NAMES[s] for s in SURFACES if s in applies_to)


def snapshot(row: IpAllowList) -> dict[str, Any]:
    """The configurable fields, as the audit trail records them."""
    return {"state": row.state, "applies_to": list(row.applies_to), "cidr_entries": [dict(e) for e in row.cidr_entries]}


async def get_list(session: AsyncSession, list_id: str) -> IpAllowList:
    row = await session.get(IpAllowList, list_id)
    if row is None:
        raise NotFound(f"IP allow list {list_id} not found", errors=["IP allow list not found"])
    return row


def _settled(fields: ListFields, current_applies_to: Sequence[str]) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(state, applies_to, cidr_entries) as stored, or InvalidInput listing every problem."""
    errors: list[str] = []
    if fields.state not in (ENABLED, DISABLED):
        errors.append("ip_allow_list.state: must be enabled or disabled")
    entries: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    for i, (cidr, description) in enumerate(fields.entries):
        where = f"ip_allow_list.cidr_entries[{i}]"
        try:
            network = parse_network(cidr)
        except ValueError as exc:
            errors.append(f"{where}.cidr: {exc}")
            continue
        if network.prefixlen == 0:
            errors.append(f"{where}.cidr: {network} admits every address; disable or delete the list instead")
            continue
        if (earlier := first_seen.setdefault(str(network), i)) != i:
            errors.append(f"{where}.cidr: {network} is already cidr_entries[{earlier}]")
            continue
        if description is not None and len(description) > MAX_DESCRIPTION:
            errors.append(f"{where}.description: at most {MAX_DESCRIPTION} characters")
            continue
        entries.append({"cidr": str(network), "description": description})
    if len(fields.entries) > MAX_ENTRIES:
        errors.append(f"ip_allow_list.cidr_entries: at most {MAX_ENTRIES} ranges per list")
    if fields.state == ENABLED and not fields.entries:
        errors.append("ip_allow_list.cidr_entries: an enabled list needs at least one range "
                      "(disable or delete the list to lift the restriction)")
    applies_to = current_applies_to if fields.applies_to is None else fields.applies_to
    unknown = sorted(set(applies_to) - set(SURFACES))
    if unknown or not applies_to:
        errors.append(f"ip_allow_list.applies_to: one or more of {', '.join(SURFACES)}")
    if errors:
        raise InvalidInput(errors=errors)
    return fields.state, sorted(set(applies_to)), entries


async def _refuse_overlap(session: AsyncSession, applies_to: Sequence[str], list_id: str | None) -> None:
    for other in await queries.all_lists(session):
        shared = sorted(set(other.applies_to) & set(applies_to))
        if other.id != list_id and shared:
            raise InvalidInput(errors=[(
                f"ip_allow_list.applies_to: the {SURFACE_NAMES[shared[0]]} is already restricted by IP allow list "
                f"{other.id}; change that list instead (each surface has at most one list)")])


async def _after_change(session: AsyncSession, requester: Requester, changed: AllowListsChanged) -> None:
    """Check the lists as they now stand against the requester's address; hand them to the guard
    once the transaction commits."""
    await session.flush()
    lists = await queries.stored_lists(session)
    policy = compile_policy(ListRule.from_stored(s) for s in lists)
    if not requester.offline and not policy.admits(REST_API, requester.address):
        who = requester.address or "an address Tocsin could not determine"
        if not requester.force:
            raise InvalidInput(
                "This change would lock you out",
                errors=[(f"After this change the REST API would refuse requests from {who}, the address making it. "
                         "Add a range that holds it, or repeat the request with force=true to apply it anyway "
                         "(`tocsin allowlist` on the server undoes it).")])
        log.warning("IP allow lists changed with force=true: the REST API now refuses %s, who made the change", who)
    after_commit(session, lambda: changed(lists))


async def create_list(session: AsyncSession, fields: ListFields, *, actor: Actor, now: datetime,
                      requester: Requester, changed: AllowListsChanged) -> IpAllowList:
    state, applies_to, entries = _settled(fields, [REST_API])
    await _refuse_overlap(session, applies_to, None)
    row = IpAllowList(id=new_id(), state=state, applies_to=applies_to, cidr_entries=entries,
                      created_at=now, updated_at=now)
    session.add(row)
    await _after_change(session, requester, changed)
    record(session, actor, action="create", resource_type=RESOURCE, resource_id=row.id,
           summary=summary(applies_to), after=snapshot(row), at=now)
    return row


async def replace_list(session: AsyncSession, list_id: str, fields: ListFields, *, actor: Actor, now: datetime,
                       requester: Requester, changed: AllowListsChanged) -> IpAllowList:
    """PUT: the writable fields replaced whole (``applies_to`` kept when not given)."""
    row = await get_list(session, list_id)
    before = snapshot(row)
    state, applies_to, entries = _settled(fields, row.applies_to)
    await _refuse_overlap(session, applies_to, row.id)
    row.state, row.applies_to, row.cidr_entries = state, applies_to, entries
    if snapshot(row) != before:
        row.updated_at = now
    await _after_change(session, requester, changed)
    record(session, actor, action="update", resource_type=RESOURCE, resource_id=row.id,
           summary=summary(applies_to), before=before, after=snapshot(row), at=now)
    return row


async def delete_list(session: AsyncSession, list_id: str, *, actor: Actor, now: datetime,
                      requester: Requester, changed: AllowListsChanged) -> None:
    row = await get_list(session, list_id)
    before = snapshot(row)
    await session.delete(row)
    # Deleting can narrow access too: with two lists on one surface (a concurrent create),
    # the other list's ranges are what remains.
    await _after_change(session, requester, changed)
    record(session, actor, action="delete", resource_type=RESOURCE, resource_id=list_id,
           summary=summary(before["applies_to"]), before=before, at=now)


# --- the command line's conveniences (offline: never refused for a lockout) -----------------

async def _list_for(session: AsyncSession, list_id: str | None, applies_to: Sequence[str] | None) -> IpAllowList | None:
    """The list a command means: the one named, else the one restricting exactly ``applies_to``
    (REST API when not given), else the only list; None when there is none to add to."""
    if list_id is not None:
        return await get_list(session, list_id)
    lists = await queries.all_lists(session)
    wanted = sorted(set(applies_to or [REST_API]))
    exact = [row for row in lists if sorted(row.applies_to) == wanted]
    if exact:
        return exact[0]
    if applies_to is None and len(lists) == 1:
        return lists[0]
    return None


async def add_range(session: AsyncSession, cidr: str, description: str | None, *, list_id: str | None,
                    applies_to: Sequence[str] | None, actor: Actor, now: datetime,
                    changed: AllowListsChanged) -> IpAllowList:
    """Add a range to a list (made, enabled, when none restricts those surfaces yet)."""
    row = await _list_for(session, list_id, applies_to)
    if row is None:
        return await create_list(session, ListFields(ENABLED, [(cidr, description)], applies_to or [REST_API]),
                                 actor=actor, now=now, requester=COMMAND_LINE, changed=changed)
    entries = [(e["cidr"], e["description"]) for e in row.cidr_entries] + [(cidr, description)]
    return await replace_list(session, row.id, ListFields(row.state, entries, applies_to), actor=actor, now=now,
                              requester=COMMAND_LINE, changed=changed)


async def remove_range(session: AsyncSession, cidr: str, *, list_id: str | None, actor: Actor, now: datetime,
                       changed: AllowListsChanged) -> list[IpAllowList]:
    """Remove a range from the named list, or from every list holding it. A list left with no
    range is disabled (an enabled list needs one). Returns the lists changed."""
    try:
        network = str(parse_network(cidr))
    except ValueError as exc:
        raise InvalidInput(errors=[str(exc)]) from None
    rows = [await get_list(session, list_id)] if list_id is not None else await queries.all_lists(session)
    holding = [row for row in rows if any(e["cidr"] == network for e in row.cidr_entries)]
    if not holding:
        raise NotFound(errors=[f"{network} is not in {'IP allow list ' + list_id if list_id else 'any IP allow list'}"])
    for row in holding:
        entries = [(e["cidr"], e["description"]) for e in row.cidr_entries if e["cidr"] != network]
        await replace_list(session, row.id, ListFields(row.state if entries else DISABLED, entries), actor=actor,
                           now=now, requester=COMMAND_LINE, changed=changed)
    return holding


async def clear(session: AsyncSession, *, list_id: str | None, actor: Actor, now: datetime,
                changed: AllowListsChanged) -> list[str]:
    """Delete the named list, or every list: the API surfaces are open again. Returns their ids."""
    ids = [list_id] if list_id is not None else [row.id for row in await queries.all_lists(session)]
    for each in ids:
        await delete_list(session, each, actor=actor, now=now, requester=COMMAND_LINE, changed=changed)
    return ids
