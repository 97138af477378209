"""Routing key -> integration lookup for the hot path, cached briefly in memory.

Hits skip the database entirely. Entries live ``ttl`` seconds so an integration deleted on
another node stops being accepted soon after; the processor re-checks the integration anyway,
so an event accepted in that window is recorded as dropped rather than misapplied.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from tocsin.db.session import Database
from tocsin.services.models import Integration, Service


@dataclass(frozen=True, slots=True)
class Route:
    integration_id: str
    service_id: str


class IntegrationDirectory:
    def __init__(self, db: Database, ttl: float = 10.0) -> None:
        self._db = db
        self._ttl = ttl
        self._cache: dict[str, tuple[Route, float]] = {}

    async def resolve(self, routing_key: str) -> Route | None:
        now = time.monotonic()
        cached = self._cache.get(routing_key)
        if cached is not None and cached[1] > now:
            return cached[0]
        route = await self._load(routing_key)
        if route is None:
            self._cache.pop(routing_key, None)
        else:
            self._cache[routing_key] = (route, now + self._ttl)
        return route

    def forget(self, routing_key: str) -> None:
        self._cache.pop(routing_key, None)

    async def _load(self, routing_key: str) -> Route | None:
        query = (
            select(Integration.id, Integration.service_id)
            .join(Service, Service.id == Integration.service_id)
            .where(
                Integration.integration_key == routing_key,
                Integration.deleted_at.is_(None),
                Service.deleted_at.is_(None),
            )
        )
        async with self._db.transaction() as session:
            row = (await session.execute(query)).first()
        return Route(row[0], row[1]) if row else None
