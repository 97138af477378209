"""What each kind of credential may do, as one table. Pure: no I/O.

A scope is ``<resource>.read`` or ``<resource>.write`` (PagerDuty's scoped-OAuth names, e.g.
``incidents.write``, ``users:contact_methods.read``); every REST route declares one. Three kinds
of credential are checked here:

* account keys: everything, or every ``.read`` when read-only;
* user keys: the key's user's role (the table below), and never a write when read-only;
* OAuth tokens: exactly the scopes granted, plus the broad ``read``/``write``. A write scope
  does not grant the matching read: PagerDuty's scoped OAuth lists read and write scopes
  separately (an app asks for both), and its OpenAPI file names one scope per operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

READ, WRITE = "read", "write"

# Resources only an account-level administrator manages: the credentials themselves, the
# audit trail (PagerDuty lets only admins, owners and global keys read the whole trail), the
# IP allow lists (PagerDuty: owners, global admins and account keys) and webhook subscriptions
# (account-wide feeds of every incident, signed with secrets).
CREDENTIALS = frozenset({"api_keys", "oauth_clients"})
ADMIN_ONLY = CREDENTIALS | {"audit_records", "ip_allow_lists", "webhook_subscriptions"}


@dataclass(frozen=True)
class Grant:
    """What a role may do: read any / write any, and the resources it may write besides."""

    read_all: bool
    write_all: bool
    writes: frozenset[str] = frozenset()
    admin: bool = False


ROLES: dict[str, Grant] = {
    # Account owner and admins: the whole account, credentials and audit trail included.
    "owner": Grant(read_all=True, write_all=True, admin=True),
    "admin": Grant(read_all=True, write_all=True, admin=True),
    # "Manager": configures services, schedules, policies, teams; not credentials or the audit
    # trail. Which users a user may edit (only itself) is decided by the /users routes.
    "user": Grant(read_all=True, write_all=True),
    # "Responder": sees everything, works incidents and edits its own profile (the /users
    # routes keep it to its own user).
    "limited_user": Grant(read_all=True, write_all=False, writes=frozenset({"incidents", "users"})),
    # Stakeholders and read-only seats: look, never touch.
    "observer": Grant(read_all=True, write_all=False),
    "read_only_user": Grant(read_all=True, write_all=False),
    "read_only_limited_user": Grant(read_all=True, write_all=False),
    # Restricted access: may read and work incidents, nothing else.
    "restricted_access": Grant(read_all=True, write_all=False, writes=frozenset({"incidents"})),
}


def split(scope: str) -> tuple[str, str]:
    """``users:contact_methods.write`` -> (``users``, ``write``): a sub-resource counts as its parent."""
    resource, _, level = scope.rpartition(".")
    return resource.partition(":")[0], level


def role_allows(role: str | None, scope: str) -> bool:
    """May a user of ``role`` use ``scope``? Unknown roles may do nothing."""
    grant = ROLES.get(role or "")
    if grant is None:
        return False
    resource, level = split(scope)
    if resource in ADMIN_ONLY:
        return grant.admin
    if level == READ:
        return grant.read_all
    return grant.write_all or resource in grant.writes


def account_key_allows(read_only: bool, scope: str) -> bool:
    return not (read_only and split(scope)[1] == WRITE)


def oauth_allows(granted: Iterable[str], scope: str) -> bool:
    """An OAuth token needs the route's scope itself, or the broad ``read``/``write``.

    The broad scopes never reach credential administration (``CREDENTIALS``): minting keys or
    clients must be granted by name.
    """
    granted = set(granted)
    if scope in granted:
        return True
    resource, level = split(scope)
    return resource not in CREDENTIALS and level in granted


def scope_is_well_formed(scope: str) -> bool:
    if scope in (READ, WRITE):
        return True
    resource, _, level = scope.rpartition(".")
    parts = resource.split(":")
    return level in (READ, WRITE) and 1 <= len(parts) <= 2 and all(
        p and all(c.islower() or c == "_" for c in p) for p in parts
    )


# Stands for every resource no rule names: each rule above treats all such resources alike.
ANY_RESOURCE = "*"


def comparison_scopes(*granted: Iterable[str]) -> set[str]:
    """Scopes enough to compare two credentials' access: every resource a rule names, one
    standing for all the others, and each scope an OAuth grant names exactly (granted by name,
    so it can differ from its resource's rule)."""
    resources = set(ADMIN_ONLY) | {r for g in ROLES.values() for r in g.writes} | {ANY_RESOURCE}
    scopes = {f"{r}.{level}" for r in resources for level in (READ, WRITE)}
    for names in granted:
        scopes |= {s for s in names if s not in (READ, WRITE)}
    return scopes
