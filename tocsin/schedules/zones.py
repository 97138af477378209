"""Time-zone names as PagerDuty takes them: IANA names or ActiveSupport's friendly names.

Pure: no database or web code. A name is kept as the client gave it; only the arithmetic uses
the IANA zone it stands for.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.schedules.zone_names import ACTIVE_SUPPORT_ZONES


def iana_name(name: str) -> str:
    """The IANA zone ``name`` stands for; ValueError when it is neither kind of name."""
    iana = ACTIVE_SUPPORT_ZONES.get(name, name)
    try:
        ZoneInfo(iana)
    # ValueError: malformed keys such as "../x"; OSError: a name too long for a file path
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not an IANA or ActiveSupport time zone name") from None
    return iana


@lru_cache(maxsize=512)
def zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(iana_name(name))
