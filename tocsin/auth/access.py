"""Authentication and the access each route declares.

Every REST route lists ``Depends(require("<resource>.<read|write>"))``; ``tests/api`` walks the
route table to prove none can be reached without a valid credential.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field

from fastapi import Depends, Request
from sqlalchemy import select

from tocsin.audit.recorder import Actor
from tocsin.auth.models import ApiKey, User
from tocsin.errors import AccessDenied, AuthenticationFailed, InvalidInput
from tocsin.http.runtime import Runtime, runtime
from tocsin.ids import hash_secret

_CACHE_TTL = 5.0


@dataclass(frozen=True)
class Principal:
    key_id: str
    kind: str  # "account" | "user"
    read_only: bool
    user_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The acting user's role for user keys (None for account keys, which act for the account).
    role: str | None = None

    def may(self, scope: str) -> bool:
        if scope.endswith(".write") and self.read_only:
            return False
        return True


def token_from_header(header: str) -> str | None:
    """The secret in ``Token token=<key>`` or ``Bearer <key>``; None when malformed."""
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "token" and rest.lower().startswith("token="):
        return rest[len("token="):].strip() or None
    if scheme.lower() == "bearer" and rest:
        return rest
    return None


class Authenticator:
    """Credential -> Principal, with a short cache so a burst of requests costs one lookup.

    The cache is keyed by the token's digest and bounded, so random bogus tokens cannot grow it
    without limit; failures are cached too (briefly) so they cannot hammer the database.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    async def authenticate(self, header: str) -> Principal:
        token = token_from_header(header)
        if token is None:
            raise AuthenticationFailed()
        digest = hash_secret(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            principal = hit[0]
        else:
            principal = await _load(self._rt, digest)
            if len(self._cache) >= self.MAX_ENTRIES:
                # Evict the oldest tenth (dicts keep insertion order), so a flood of bogus
                # tokens cannot push every valid key out at once.
                for stale in list(self._cache)[: self.MAX_ENTRIES // 10]:
                    del self._cache[stale]
            self._cache[digest] = (principal, now + _CACHE_TTL)
        if principal is None:
            raise AuthenticationFailed()
        return principal


async def authenticate(request: Request, rt: Runtime = Depends(runtime)) -> Principal:
    """The principal the ASGI gate (``tocsin.api.gate``) already established, or look it up."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        authenticator = rt.hooks.get("authenticator") or rt.hooks.setdefault("authenticator", Authenticator(rt))
        principal = await authenticator.authenticate(request.headers.get("authorization", ""))
    return principal  # type: ignore[no-any-return]


async def _load(rt: Runtime, digest: str) -> Principal | None:
    async with rt.db.transaction() as session:
        key = (
            await session.execute(
                select(ApiKey).where(ApiKey.token_hash == digest, ApiKey.revoked_at.is_(None))
            )
        ).scalar_one_or_none()
    # The lookup is by digest; compare once more in constant time so equality never leaks timing.
    if key is None or not hmac.compare_digest(key.token_hash, digest):
        return None
    role = None
    if key.user_id is not None:
        async with rt.db.transaction() as session:
            role = (await session.execute(select(User.role).where(User.id == key.user_id))).scalar_one_or_none()
    return Principal(key.id, key.kind, key.read_only, key.user_id, role=role)


def require(scope: str):  # type: ignore[no-untyped-def]
    """A dependency that authenticates and checks ``scope`` (e.g. ``incidents.write``)."""

    async def check(principal: Principal = Depends(authenticate)) -> Principal:
        if not principal.may(scope):
            raise AccessDenied(errors=[f"This credential may not perform {scope}"])
        return principal

    check.required_scope = scope  # type: ignore[attr-defined]
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
                await session.execute(select(User).where(User.email == email.lower()))
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
    return Actor(
        type=kind,
        id=ident,
        method_type="oauth" if principal.kind == "oauth" else "api_token",
        request_id=request.headers.get("x-request-id") if request is not None else None,
        remote_address=client,
    )
