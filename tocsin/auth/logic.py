"""Users, API keys and OAuth clients, in the caller's transaction.

Every change to a credential writes an audit record in the same transaction. Secrets are
returned once, to the caller that created them, and stored only as SHA-256 digests.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.recorder import Actor, record
from tocsin.auth import oauth
from tocsin.auth.models import ApiKey, OAuthClient, OAuthToken, User
from tocsin.errors import InvalidInput, NotFound
from tocsin.ids import hash_secret, new_api_key, new_id

# Who acted when a change comes from the ``tocsin`` command rather than the API.
CLI_ACTOR = Actor(type="app_reference", id="tocsin-cli", summary="tocsin command line", method_type="other")


async def ensure_admin(session: AsyncSession, email: str, now: datetime) -> User:
    email = email.strip().lower()
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        user = User(id=new_id(), name="Administrator", email=email, role="owner", created_at=now)
        session.add(user)
        await session.flush()
    return user


async def issue_api_key(
    session: AsyncSession, now: datetime, *, description: str, read_only: bool = False,
    user_id: str | None = None,
) -> str:
    """Create a key and return its secret, which is shown once and stored only hashed."""
    _, secret = await _add_key(session, now, description=description, read_only=read_only, user_id=user_id)
    return secret


async def _add_key(
    session: AsyncSession, now: datetime, *, description: str, read_only: bool, user_id: str | None,
) -> tuple[ApiKey, str]:
    secret = new_api_key()
    key = ApiKey(
        id=new_id(), token_hash=hash_secret(secret), kind="user" if user_id else "account",
        user_id=user_id, read_only=read_only, description=description, created_at=now,
        truncated_token=secret[-4:],
    )
    session.add(key)
    await session.flush()
    return key, secret


def api_key_snapshot(key: ApiKey) -> dict[str, Any]:
    """The audited fields of a key (never the secret or its digest)."""
    return {"type": key.kind, "user_id": key.user_id, "read_only": key.read_only,
            "description": key.description, "truncated_token": key.truncated_token}


async def live_user(session: AsyncSession, *, user_id: str | None = None, email: str | None = None) -> User:
    """An existing, not deleted user by id or email, or InvalidInput naming what was wrong."""
    query = select(User).where(User.deleted_at.is_(None))
    query = (query.where(User.id == user_id) if user_id is not None
             else query.where(User.email == (email or "").strip().lower()))
    user = (await session.execute(query)).scalar_one_or_none()
    if user is None:
        raise InvalidInput(errors=[f"user {user_id or email!r} does not name an existing user"])
    return user


async def create_api_key(
    session: AsyncSession, now: datetime, actor: Actor, *, key_type: str, user_id: str | None,
    read_only: bool, description: str,
) -> tuple[ApiKey, str]:
    """An account key (acts for the account) or a user key (acts as ``user_id`` with its role)."""
    if key_type == "user" and user_id is None:
        raise InvalidInput(errors=["api_key.user is required for a user key"])
    if key_type == "account" and user_id is not None:
        raise InvalidInput(errors=["api_key.user must be absent for an account key"])
    if user_id is not None:
        await live_user(session, user_id=user_id)
    key, secret = await _add_key(session, now, description=description, read_only=read_only, user_id=user_id)
    record(session, actor, action="create", resource_type="api_key", resource_id=key.id,
           summary=description, after=api_key_snapshot(key), at=now)
    return key, secret


async def get_api_key(session: AsyncSession, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(errors=[f"API key {key_id} not found"])
    return key


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))).scalars())


async def revoke_api_key(session: AsyncSession, key_id: str, now: datetime, actor: Actor) -> ApiKey:
    """Revoke a key; the authenticator cache may honour it for up to 5 more seconds."""
    key = await get_api_key(session, key_id)
    if key.revoked_at is not None:
        raise NotFound(errors=[f"API key {key_id} is already revoked"])
    key.revoked_at = now
    record(session, actor, action="delete", resource_type="api_key", resource_id=key.id,
           summary=key.description, before=api_key_snapshot(key), at=now)
    await session.flush()
    return key


# --- OAuth clients and tokens -------------------------------------------------------------


def oauth_client_snapshot(client: OAuthClient) -> dict[str, Any]:
    return {"name": client.name, "scopes": sorted(client.scopes)}


async def create_oauth_client(
    session: AsyncSession, now: datetime, actor: Actor, *, name: str, scopes: list[str],
) -> tuple[OAuthClient, str]:
    """A client allowed ``scopes``; returns it and its secret (shown once)."""
    allowed = oauth.allowed_scopes(scopes)
    secret = oauth.new_client_secret()
    client = OAuthClient(id=new_id(), name=name, secret_hash=hash_secret(secret), scopes=allowed, created_at=now)
    session.add(client)
    await session.flush()
    record(session, actor, action="create", resource_type="oauth_client", resource_id=client.id,
           summary=name, after=oauth_client_snapshot(client), at=now)
    return client, secret


async def get_oauth_client(session: AsyncSession, client_id: str) -> OAuthClient:
    client = await session.get(OAuthClient, client_id)
    if client is None:
        raise NotFound(errors=[f"OAuth client {client_id} not found"])
    return client


async def list_oauth_clients(session: AsyncSession) -> list[OAuthClient]:
    return list((await session.execute(
        select(OAuthClient).order_by(OAuthClient.created_at, OAuthClient.id))).scalars())


async def revoke_oauth_client(
    session: AsyncSession, client_id: str, now: datetime, actor: Actor,
) -> tuple[OAuthClient, list[str]]:
    """Revoke a client and delete its tokens; returns the client and the tokens' digests, so
    the caller can drop them from the authenticator's cache (elsewhere they die within 5 s)."""
    client = await get_oauth_client(session, client_id)
    if client.revoked_at is not None:
        raise NotFound(errors=[f"OAuth client {client_id} is already revoked"])
    client.revoked_at = now
    digests = list((await session.execute(
        select(OAuthToken.token_hash).where(OAuthToken.client_id == client.id))).scalars())
    await session.execute(delete(OAuthToken).where(OAuthToken.client_id == client.id))
    record(session, actor, action="delete", resource_type="oauth_client", resource_id=client.id,
           summary=client.name, before=oauth_client_snapshot(client), at=now)
    await session.flush()
    return client, digests


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]
    expires_in: int


async def issue_access_token(
    session: AsyncSession, now: datetime, *, client_id: str, client_secret: str,
    requested: list[str] | None, ttl: int,
) -> IssuedToken:
    """The client credentials grant (RFC 6749 4.4); raises ``oauth.OAuthError``."""
    client = await session.get(OAuthClient, client_id) if len(client_id) <= 16 else None
    # Compare digests in constant time whether or not the client exists, so timing does not
    # reveal which client ids are real.
    expected = (client.secret_hash if client is not None and client.revoked_at is None
                else hash_secret(secrets.token_hex(16)))
    if not hmac.compare_digest(expected, hash_secret(client_secret)) or client is None or client.revoked_at is not None:
        raise oauth.OAuthError("invalid_client", "Client authentication failed", 401)
    scopes = oauth.grant(client.scopes, requested)
    token = oauth.new_access_token()
    # Sweep expired tokens as new ones are issued, so the table stays the size of live tokens.
    await session.execute(delete(OAuthToken).where(OAuthToken.expires_at <= now))
    session.add(OAuthToken(
        id=new_id(), token_hash=hash_secret(token), client_id=client.id, scopes=scopes,
        created_at=now, expires_at=now + timedelta(seconds=ttl),
    ))
    await session.flush()
    return IssuedToken(token, scopes, ttl)
