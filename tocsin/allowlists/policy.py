"""The account's IP allow lists as one compiled decision per API surface. Pure: no I/O.

A surface (``rest_api``, ``events_api``) is open to every address unless an enabled list applies
to it; then only addresses inside that list's ranges (or any enabled list applying to it) are
admitted. ``compile_policy`` turns the stored lists into a ``Policy`` once per change, so the
per-request question is a dictionary lookup for an address seen before, else a binary search
over merged integer intervals.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from tocsin.outbound.addresses import Network, parse_network, unmapped

REST_API, EVENTS_API = "rest_api", "events_api"
SURFACES = (REST_API, EVENTS_API)
SURFACE_NAMES = {REST_API: "REST API", EVENTS_API: "Events API"}
ENABLED, DISABLED = "enabled", "disabled"
MAX_ENTRIES = 100  # ranges per list, as PagerDuty allows
# Distinct client addresses remembered per compiled range set; past it the memory starts again
# (an attacker cycling through IPv6 addresses must not grow it without bound).
CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class ListRule:
    """One stored list, as the policy needs it."""

    enabled: bool
    applies_to: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> ListRule:
        """From the stored shape: ``state``, ``applies_to``, ``cidr_entries`` [{``cidr``, ...}]."""
        return cls(
            enabled=stored["state"] == ENABLED,
            applies_to=frozenset(stored["applies_to"]),
            networks=tuple(parse_network(entry["cidr"]) for entry in stored["cidr_entries"]),
        )


def _merged(networks: Iterable[Network]) -> tuple[list[int], list[int]]:
    """Sorted, non-overlapping [start, end] intervals covering ``networks``."""
    spans = sorted((int(n.network_address), int(n.broadcast_address)) for n in networks)
    starts: list[int] = []
    ends: list[int] = []
    for start, end in spans:
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


class Ranges:
    """A set of networks answering "does it hold this address?" for address text."""

    __slots__ = ("_cache", "_v4", "_v6", "networks")

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)
        self._v4 = _merged(n for n in self.networks if isinstance(n, IPv4Network))
        self._v6 = _merged(n for n in self.networks if isinstance(n, IPv6Network))
        self._cache: dict[str, bool] = {}

    def holds(self, address: str) -> bool:
        """Whether ``address`` (text, as ASGI gives it) is inside; False when it is not an address.
        An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 client) is inside when
        either form is."""
        found = self._cache.get(address)
        if found is None:
            found = self._lookup(address)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[address] = found
        return found

    def _lookup(self, text: str) -> bool:
        try:
            parsed = ip_address(text)
        except ValueError:
            return False
        return self.holds_address(parsed) or self.holds_address(unmapped(parsed))

    def holds_address(self, address: IPv4Address | IPv6Address) -> bool:
        starts, ends = self._v4 if isinstance(address, IPv4Address) else self._v6
        value = int(address)
        i = bisect_right(starts, value) - 1
        return i >= 0 and value <= ends[i]


@dataclass(frozen=True, slots=True)
class Policy:
    """Per surface: the ranges admitted, or None when no enabled list applies (open to all)."""

    rest_api: Ranges | None = None
    events_api: Ranges | None = None

    def ranges(self, surface: str) -> Ranges | None:
        return self.rest_api if surface == REST_API else self.events_api

    def admits(self, surface: str, address: str | None) -> bool:
        """May a request from ``address`` (None: unknown) reach ``surface``?"""
        ranges = self.ranges(surface)
        if ranges is None:
            return True
        return address is not None and ranges.holds(address)


OPEN = Policy()


def compile_policy(rules: Iterable[ListRule]) -> Policy:
    """The union of every enabled list's ranges, per surface it applies to."""
    networks: dict[str, list[Network]] = {}
    for rule in rules:
        if rule.enabled:
            for surface in rule.applies_to & set(SURFACES):
                networks.setdefault(surface, []).extend(rule.networks)
    return Policy(
        rest_api=Ranges(networks[REST_API]) if REST_API in networks else None,
        events_api=Ranges(networks[EVENTS_API]) if EVENTS_API in networks else None,
    )
