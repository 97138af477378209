"""The seams between domains, stated in plain types, and the one object that carries them.

The layers run one way (``pyproject.toml``): a lower domain may not import a higher one. Where a
lower domain needs a fact a higher one owns (a policy lists the services using it; a schedule a
policy targets cannot be deleted; a user shows their teams), the lower domain states what it
needs as one of the types below, the higher domain implements it, and the composition root
(``tocsin.api.app``) puts the implementations into one ``Wiring``, built once per process.

Every field is required: a Runtime cannot exist without all of them, so no check can be skipped
because a collaborator was forgotten, and the shared ones (the authenticator with its cache) exist
once. Domain logic takes the collaborator it needs as a required argument, so callers that do not
go through HTTP (the CLI, the engine) cannot skip it either.

This module sits below every domain, so its types use only plain values and the session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

# policy ids -> {policy id: [(service id, service name)]}; policies no service uses may be absent.
# Implemented by ``tocsin.services.queries.services_using_policies``; used by escalation.
ServicesUsingPolicies = Callable[[AsyncSession, list[str]], Awaitable[dict[str, list[tuple[str, str]]]]]

# a schedule or user id -> [(policy id, policy name)] of the live policies targeting it.
# Implemented by ``tocsin.escalation.queries``; used by schedules and users to refuse deletion.
PoliciesUsing = Callable[[AsyncSession, str], Awaitable[list[tuple[str, str]]]]

# Store now the work the transaction's incident changes imply (timers, sends: the engine's planner,
# ``tocsin.engine.planner``), as the before-commit hook would at commit; it then finds nothing left.
# Used by the incidents routes, so a write's answer shows the incident's pending_actions.
PlanPendingWork = Callable[[Session], None]

# Drop a routing key from the events hot path's cache (``tocsin.events.directory``) once the
# transaction that removed its integration has committed.
ForgetRoutingKey = Callable[[str], None]

# The account's inbound IP allow lists as they stand after a change (each a mapping of ``state``,
# ``applies_to`` and ``cidr_entries``, as ``tocsin.allowlists.queries.stored`` gives them), handed
# to the process's request guard (``tocsin.allowlists.guard``) once the change has committed, so
# this process enforces them from its next request; other processes reload them within seconds.
AllowListsChanged = Callable[[Sequence[Mapping[str, Any]]], None]


class ServiceDeleted(Protocol):
    """What deleting a service does to the outbound destinations tied to it, in the deleting
    transaction (``tocsin.webhooks.relays.service_deleted``: its forwarders and chat webhooks are
    deleted, webhook subscriptions filtered on it turned off, each audited). Services sit below
    webhooks, so they reach it through this seam. ``actor`` is the audit actor
    (``tocsin.audit.recorder.Actor``, a layer above this module)."""

    async def __call__(self, session: AsyncSession, service_id: str, actor: Any, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class FrozenLevel:
    """A level of the escalation path frozen onto an incident: how many levels the path has and
    who the level assigns now (``users`` empty when ``level`` is outside the path)."""

    levels: int
    users: tuple[str, ...]


class FrozenLevels(Protocol):
    """Who a manual escalation to ``level`` assigns by the path frozen onto the incident at
    trigger (``tocsin.engine.manual_levels``): editing a policy never changes a running
    escalation, manual or not. None when the incident has no frozen path (the live policy then)."""

    async def __call__(self, session: AsyncSession, incident_id: str, level: int,
                       at: datetime) -> FrozenLevel | None: ...


class TeamDirectory(Protocol):
    """What the users domain needs to know about teams (``tocsin.teams.directory`` implements it)."""

    async def team_refs_of_users(
        self, session: AsyncSession, base: str, user_ids: list[str], *, expand: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        """Each user's teams as references (full team objects when ``expand``)."""
        ...

    async def user_ids_of_teams(self, session: AsyncSession, team_ids: list[str]) -> set[str]: ...

    async def existing_team_ids(self, session: AsyncSession, team_ids: list[str]) -> set[str]: ...

    async def remove_user(self, session: AsyncSession, user_id: str) -> None:
        """End every team membership of a user being deleted (in the caller's transaction)."""
        ...


class Authenticates(Protocol):
    """The process's one authenticator (``tocsin.auth.access.Authenticator``): the REST gate and
    the access dependency look credentials up through it, and revoking a credential drops it from
    its cache, so a revoked key stops working at once in this process."""

    async def authenticate(self, header: str) -> object:
        """The principal for an ``Authorization`` header; raises when it is refused."""
        ...

    def forget(self, digests: list[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Wiring:
    """The collaborators the composition root hands the domains: one field per seam, none optional."""

    authenticator: Authenticates
    team_directory: TeamDirectory
    services_using_policies: ServicesUsingPolicies
    policies_using_schedule: PoliciesUsing
    policies_using_user: PoliciesUsing
    forget_routing_key: ForgetRoutingKey
    plan_pending_work: PlanPendingWork
    allow_lists_changed: AllowListsChanged
    service_deleted: ServiceDeleted
    frozen_levels: FrozenLevels
