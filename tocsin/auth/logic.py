"""Users and API keys, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.models import ApiKey, User
from tocsin.ids import hash_secret, new_api_key, new_id


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
    secret = new_api_key()
    session.add(ApiKey(
        id=new_id(), token_hash=hash_secret(secret), kind="user" if user_id else "account",
        user_id=user_id, read_only=read_only, description=description, created_at=now,
    ))
    await session.flush()
    return secret
