"""An alert's ``body.contexts``: the Events API's ``links`` and ``images`` (v1 ``contexts``, split
into the two by validation) as PagerDuty's REST API shows them, each with its ``type``.

Pure: no I/O. Stored bodies are read defensively, so an entry that is not what validation would
have kept (older rows, hand-edited data) is left out rather than breaking the read.
"""

from __future__ import annotations

from typing import Any


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def link_context(link: Any) -> dict[str, Any] | None:
    """``{"type": "link", "href", "text"?}``, or None without an ``href``."""
    if not isinstance(link, dict) or (href := _text(link.get("href"))) is None:
        return None
    context: dict[str, Any] = {"type": "link", "href": href}
    if (text := _text(link.get("text"))) is not None:
        context["text"] = text
    return context


def image_context(image: Any) -> dict[str, Any] | None:
    """``{"type": "image", "src", "href"?, "alt"?, "text"?}``, or None without a ``src``.

    The Events API names an image's alternative text ``alt``; PagerDuty's REST schema for a
    context names it ``text``. Both are given, so a client written against either finds it.
    """
    if not isinstance(image, dict) or (src := _text(image.get("src"))) is None:
        return None
    context: dict[str, Any] = {"type": "image", "src": src}
    if (href := _text(image.get("href"))) is not None:
        context["href"] = href
    if (alt := _text(image.get("alt"))) is not None:
        context["alt"] = alt
        context["text"] = alt
    return context


def alert_contexts(links: Any, images: Any) -> list[dict[str, Any]]:
    """Links first, then images, each in the order the event sent them."""
    built = [link_context(x) for x in (links if isinstance(links, list) else [])]
    built += [image_context(x) for x in (images if isinstance(images, list) else [])]
    return [c for c in built if c is not None]
