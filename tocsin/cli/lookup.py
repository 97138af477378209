"""Finding things by what people type: an id, a name, an email, ``me``.

An id-shaped word is tried as an id first; otherwise (or when no such id exists) the list is
searched with ``query=`` and an exact match (case-insensitive) wins, then a single partial one.
Several partial matches are a usage error listing them; none is "not found" (exit 3).
"""

from __future__ import annotations

import re
from typing import Any

from tocsin.cli import exits
from tocsin.cli.session import Cli, Failure, not_found, usage
from tocsin.client import ApiError

ID_SHAPE = re.compile(r"^[PQ][A-Z0-9]{5,}$")

# path -> (list key, singular key, what people call it, the command that lists them)
KINDS: dict[str, tuple[str, str, str, str]] = {
    "/services": ("services", "service", "service", "tocsin service list"),
    "/escalation_policies": ("escalation_policies", "escalation_policy", "escalation policy", "tocsin policy list"),
    "/schedules": ("schedules", "schedule", "schedule", "tocsin schedule list"),
    "/teams": ("teams", "team", "team", "tocsin team list"),
    "/users": ("users", "user", "user", "tocsin user list"),
}


def find(cli: Cli, path: str, text: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one object of ``path`` that ``text`` names (an id, a name; for users also an email)."""
    list_key, one_key, kind, lister = KINDS[path]
    if ID_SHAPE.match(text):
        try:
            return dict(cli.rest.get(f"{path}/{text}", params)[one_key])
        except ApiError as exc:
            if exc.status != 404:
                raise
    fields = ("name", "email") if path == "/users" else ("name",)
    candidates = list(cli.rest.iter_offset(path, list_key, {"query": text}))
    wanted = text.casefold()
    exact = [c for c in candidates if any(str(c.get(f) or "").casefold() == wanted for f in fields)]
    partial = [c for c in candidates if any(wanted in str(c.get(f) or "").casefold() for f in fields)]
    matches = exact or partial
    if len(matches) == 1:
        if params:  # the list's objects may lack what the caller asked to include
            return dict(cli.rest.get(f"{path}/{matches[0]['id']}", params)[one_key])
        return dict(matches[0])
    if not matches:
        raise not_found(f"no {kind} is named {text!r}", f"{lister} shows them")
    names = [f"{m.get('name') or m.get('summary')} ({m['id']})" for m in matches[:10]]
    raise Failure(f"{text!r} matches {len(matches)} {kind}s; name one exactly or give its id", exits.USAGE,
                  details=tuple(names))


def find_id(cli: Cli, path: str, text: str) -> str:
    return str(find(cli, path, text)["id"])


def me(cli: Cli) -> dict[str, Any]:
    """The user this profile acts as: the token's user, else the profile's From email."""
    try:
        return dict(cli.rest.get("/users/me")["user"])
    except ApiError as exc:
        if exc.status not in (400, 403, 404):  # an account key has no "me"; a bad token (401) is fatal
            raise
    email = cli.profile.from_email
    if not email:
        raise usage("an account key has no user of its own, and this profile names no From email",
                    "tocsin login --from EMAIL (or TOCSIN_API_FROM)")
    return find(cli, "/users", email)


def user(cli: Cli, text: str) -> dict[str, Any]:
    return me(cli) if text == "me" else find(cli, "/users", text)


def reference(kind: str, item: dict[str, Any]) -> dict[str, str]:
    return {"id": str(item["id"]), "type": f"{kind}_reference"}
