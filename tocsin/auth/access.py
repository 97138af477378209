"""Authentication and the access each route declares.

Every REST route lists ``Depends(require("<resource>.<read|write>"))``; ``tests/api`` walks the
route table to prove none can be reached without a valid credential.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from fastapi import Depends, Request
from sqlalchemy import select

from tocsin.audit.recorder import Actor
from tocsin.auth import roles
from tocsin.auth.models import ApiKey, OAuthClient, OAuthToken, User
from tocsin.db.session import Database
from tocsin.errors import AccessDenied, AuthenticationFailed, InvalidInput
from tocsin.http.runtime import Runtime, runtime
from tocsin.ids import API_KEY_LENGTH, hash_secret

# How long a looked-up credential is trusted: revoking a key or client, deleting a user or
# changing its role takes effect within this many seconds in other processes (at once in the
# process that made the change: it calls Authenticator.forget after committing).
_CACHE_TTL = 5.0


@dataclass(frozen=True)
class Principal:
    # The credential's id: the API key's, or for OAuth tokens the client's (so the rate limit
    # and the audit trail follow the app, not each short-lived token).
    key_id: str
    kind: str  # "account" | "user" | "oauth"
    read_only: bool
    user_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The acting user's role for user keys (None for account keys, which act for the account).
    role: str | None = None
    summary: str = ""
    truncated_token: str | None = None
    expires_at: datetime | None = None  # OAuth tokens only

    def may(self, scope: str) -> bool:
        if self.kind == "oauth":
            return roles.oauth_allows(self.scopes, scope)
        if self.kind == "user":
            return roles.account_key_allows(self.read_only, scope) and roles.role_allows(self.role, scope)
        return roles.account_key_allows(self.read_only, scope)


def credential_from_header(header: str) -> tuple[str, str] | None:
    """(scheme, secret) from ``Token token=<key>`` or ``Bearer <secret>``; None when malformed."""
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "token" and rest.lower().startswith("token="):
        secret = rest[len("token="):].strip()
        return ("token", secret) if secret else None
    if scheme.lower() == "bearer" and rest:
        return "bearer", rest
    return None


def token_from_header(header: str) -> str | None:
    """The secret in ``Token token=<key>`` or ``Bearer <key>``; None when malformed."""
    found = credential_from_header(header)
    return found[1] if found else None


class Authenticator:
    """Credential -> Principal, with a short cache so a burst of requests costs one lookup.

    A 20-character secret is an API key (in either form, as PagerDuty's clients send them);
    anything else is an OAuth access token, accepted only as ``Bearer`` — the two can never be
    mistaken for each other because issued tokens are far longer than 20 characters.

    The cache is keyed by the token's digest and bounded, so random bogus tokens cannot grow it
    without limit; failures are cached too (briefly) so they cannot hammer the database.

    One per process (the composition root puts it in ``Runtime.wiring``): a second one would keep
    its own cache, and a key revoked through the first would live on in it.
    """

    MAX_ENTRIES = 10_000

    def __init__(
        self, db: Database, now: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._now = now  # the runtime clock, read on each call (tests swap it)
        # The cache's clock: monotonic, so setting the wall clock back cannot stretch the TTL.
        self._monotonic = monotonic
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        # Bumped by every forget(): a lookup that began before one may have read the old rows,
        # so its answer is used for its own request but not cached (or the forgotten would return).
        self._forgets = 0

    async def authenticate(self, header: str) -> Principal:
        found = credential_from_header(header)
        if found is None:
            raise AuthenticationFailed()
        scheme, token = found
        is_api_key = len(token) == API_KEY_LENGTH
        if not is_api_key and scheme != "bearer":
            raise AuthenticationFailed()
        digest = hash_secret(token)
        now = self._monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            principal = hit[0]
        else:
            forgets_before = self._forgets
            principal = await (_load_api_key(self._db, digest) if is_api_key
                               else _load_oauth_token(self._db, digest, token[-4:], self._now()))
            if forgets_before == self._forgets:
                self._remember(digest, principal, now)
        if principal is None:
            raise AuthenticationFailed()
        # Checked on every request, not only at lookup, so a cached token dies on the second.
        if principal.expires_at is not None and principal.expires_at <= self._now():
            raise AuthenticationFailed()
        return principal

    def _remember(self, digest: str, principal: Principal | None, now: float) -> None:
        if len(self._cache) >= self.MAX_ENTRIES:
            # Evict the oldest tenth (dicts keep insertion order), so a flood of bogus
            # tokens cannot push every valid key out at once.
            for stale in list(self._cache)[: self.MAX_ENTRIES // 10]:
                del self._cache[stale]
        self._cache[digest] = (principal, now + _CACHE_TTL)

    def forget(self, digests: list[str]) -> None:
        """Drop changed credentials (revoked, or their user deleted or given another role) now in
        this process; other processes drop them within the TTL.

        Call it after the change has committed: a lookup made before the commit still sees the
        old rows and would cache them again."""
        self._forgets += 1
        for digest in digests:
            self._cache.pop(digest, None)


async def authenticate(request: Request, rt: Runtime = Depends(runtime)) -> Principal:
    """The principal the ASGI gate (``tocsin.api.gate``) already established, or look it up."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:  # a route reached without the gate: the same, shared authenticator
        principal = await rt.wiring.authenticator.authenticate(request.headers.get("authorization", ""))
    if not isinstance(principal, Principal):
        raise AuthenticationFailed()
    return principal


async def _load_api_key(db: Database, digest: str) -> Principal | None:
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(ApiKey, User.role, User.name, User.deleted_at)
                .outerjoin(User, User.id == ApiKey.user_id)
                .where(ApiKey.token_hash == digest, ApiKey.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        return None
    # An outer join: the user's columns are None when the key's user row is gone.
    key, role, name, user_deleted_at = cast("tuple[ApiKey, str | None, str | None, datetime | None]", row)
    # The lookup is by digest; compare once more in constant time so equality never leaks timing.
    if not hmac.compare_digest(key.token_hash, digest):
        return None
    if key.user_id is not None and (role is None or user_deleted_at is not None):
        return None  # a deleted user's keys stop working with it
    return Principal(
        key.id, key.kind, key.read_only, key.user_id, role=role,
        summary=(name or "") if key.user_id is not None else key.description,  # a live user has a name
        truncated_token=key.truncated_token,
    )


async def _load_oauth_token(db: Database, digest: str, tail: str, now: datetime) -> Principal | None:
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(OAuthToken, OAuthClient.name)
                .join(OAuthClient, OAuthClient.id == OAuthToken.client_id)
                .where(OAuthToken.token_hash == digest, OAuthClient.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        return None
    token, client_name = row
    if not hmac.compare_digest(token.token_hash, digest) or token.expires_at <= now:
        return None
    return Principal(
        token.client_id, "oauth", False, scopes=frozenset(token.scopes), summary=client_name,
        truncated_token=tail, expires_at=token.expires_at,
    )


def beyond(holder: Principal, candidate: Principal) -> list[str]:
    """The scopes ``candidate`` would allow that ``holder`` does not (empty: it grants no more).

    A credential may mint only credentials within its own access, so a narrowly scoped OAuth
    token cannot create an account key or a broader client.
    """
    return sorted(s for s in roles.comparison_scopes(holder.scopes, candidate.scopes)
                  if candidate.may(s) and not holder.may(s))


def require_within(holder: Principal, candidate: Principal) -> None:
    missing = beyond(holder, candidate)
    if missing:
        raise AccessDenied(errors=[
            "A credential may not create a credential with more access than its own; this one lacks "
            + ", ".join(m.replace(roles.ANY_RESOURCE + ".", "broad ") for m in missing[:10])])


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that authenticates and checks ``scope`` (e.g. ``incidents.write``)."""

    async def check(principal: Principal = Depends(authenticate)) -> Principal:
        if not principal.may(scope):
            raise AccessDenied(errors=[f"This credential may not perform {scope}"])
        return principal

    # Read by tests/api/test_access.py to find each route's scope; functions take no declared attributes.
    check.required_scope = scope  # type: ignore[attr-defined]  # a function attribute, by design
    return check


async def acting_user(request: Request, principal: Principal, rt: Runtime) -> User:
    """The user a write acts as: the key's user, or the ``From`` header for account keys."""
    async with rt.db.transaction() as session:
        if principal.user_id is not None:
            user = await session.get(User, principal.user_id)
        else:
            email = request.headers.get("from", "").strip()
            if not email:
                raise InvalidInput(
                    "You must specify a user's email address in the \"From\" header to perform this action",
                    errors=["The From header is required and must name a user's email address"],
                )
            user = (
                await session.execute(
                    select(User).where(User.email == email.lower(), User.deleted_at.is_(None))
                )
            ).scalar_one_or_none()
    if user is None:
        raise InvalidInput(errors=["The From header must be the email address of an existing user"])
    return user


def audit_actor(principal: Principal, request: Request | None = None) -> Actor:
    """The audit trail's view of who acted: the key's user, the OAuth app, or the account key."""
    if principal.user_id is not None:
        kind, ident = "user_reference", principal.user_id
    elif principal.kind == "oauth":
        kind, ident = "app_reference", principal.key_id
    else:
        kind, ident = "api_key_reference", principal.key_id
    client = request.client.host if request is not None and request.client else None
    request_id = request.headers.get("x-request-id") if request is not None else None
    return Actor(
        type=kind,
        id=ident,
        summary=principal.summary,
        method_type="oauth" if principal.kind == "oauth" else "api_token",
        truncated_token=principal.truncated_token,
        # Clipped to the audit columns' widths: a long client-chosen header must not fail a write.
        request_id=request_id[:64] if request_id else None,
        remote_address=client[:64] if client else None,
    )
