"""Jinja2 templates of the UI (package data), whole pages or one block of them.

A live update re-renders only the block that changed (``jinja2-fragments``' ``render_block``),
from the same template the full page uses, so the two cannot drift apart. Autoescaping is on
for every template.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2_fragments import render_block


def ago(then: datetime | None, now: datetime) -> str:
    """``5 min ago`` / ``in 12 min``: a short relative time (the exact time goes in a title)."""
    if then is None:
        return ""
    seconds = int((then - now).total_seconds())
    future, seconds = seconds > 0, abs(seconds)
    if seconds < 60:
        text = f"{seconds} s"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86400:
        text = f"{seconds // 3600} h {seconds % 3600 // 60} min"
    else:
        text = f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    return f"in {text}" if future else f"{text} ago"


def stamp(value: datetime | None) -> str:
    """An exact UTC time for people: ``2026-12-06 14:03:05 UTC``."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def web_link(url: object) -> str:
    """``url`` when it is an http(s) URL, else "" (an alert's link must never be ``javascript:``)."""
    if not isinstance(url, str):
        return ""
    scheme = url.strip().split(":", 1)[0].lower()
    return url.strip() if scheme in ("http", "https") and ":" in url else ""


class Templates:
    def __init__(self) -> None:
        self.env = Environment(loader=PackageLoader("tocsin.ui", "templates"), autoescape=select_autoescape(
            default=True, default_for_string=True), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(stamp=stamp, iso=iso, duration=duration, web_link=web_link)
        self.env.globals.update(ago=ago)

    def page(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    def block(self, name: str, block: str, **context: Any) -> str:
        rendered: str = render_block(self.env, name, block, **context)
        return rendered
