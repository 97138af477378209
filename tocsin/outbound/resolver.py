"""Name resolution for outbound requests, as a seam: tests point it at a fixed mapping."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence

# host name -> every address it resolves to (text), in the resolver's order; OSError when the
# name cannot be resolved.
Resolver = Callable[[str], Awaitable[Sequence[str]]]


async def system_resolver(host: str) -> list[str]:
    """The operating system's answer (``getaddrinfo``: /etc/hosts, then DNS), de-duplicated."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
