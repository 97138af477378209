"""Signing in to the web UI, in the caller's transaction: passwords, sessions, throttling and the
single-use set-password links. Every rule about accounts lives here, so the sign-in page, the
set-password page and ``tocsin user set-password`` cannot skip one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.logic import live_user
from tocsin.auth.models import User
from tocsin.errors import InvalidInput
from tocsin.ids import new_id
from tocsin.notifications.queries import instance_secret
from tocsin.ui import passwords, throttle
from tocsin.ui.models import INVITATION, RESET, AccountLink, LoginThrottle, UiSession, UserPassword
from tocsin.ui.signing import SESSION_SECONDS

SECRET_NAME = "ui_cookies"  # instance_secrets row of the cookie and CSRF signing key
LINK_LIFETIME = {INVITATION: timedelta(days=7), RESET: timedelta(hours=1)}
# A reset link is emailed at most this often per account, so the public "forgot your password"
# form cannot be used to flood someone's mailbox.
RESET_INTERVAL = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def ui_secret(session: AsyncSession, now: datetime) -> bytes:
    return await session.run_sync(lambda s: instance_secret(s, SECRET_NAME, now))


# --- passwords -----------------------------------------------------------------------------------

async def set_password(session: AsyncSession, user_id: str, password: str, now: datetime) -> None:
    """Set the user's password and end every session they had (a new password locks out whoever
    knew the old one). ``InvalidInput`` when the password is not acceptable."""
    if (why := passwords.problem(password)) is not None:
        raise InvalidInput(errors=[why])
    hashed = passwords.hash_password(password)
    row = await session.get(UserPassword, user_id)
    if row is None:
        session.add(UserPassword(user_id=user_id, hash=hashed, updated_at=now))
    else:
        row.hash, row.updated_at = hashed, now
    await session.execute(delete(UiSession).where(UiSession.user_id == user_id))
    await session.flush()


async def has_password(session: AsyncSession, user_id: str) -> bool:
    return await session.get(UserPassword, user_id) is not None


# --- throttling ----------------------------------------------------------------------------------

def throttle_keys(email: str, address: str | None) -> list[str]:
    return [f"account:{email.strip().lower()}"[:400], f"address:{address or 'unknown'}"[:400]]


async def _throttle_rows(session: AsyncSession, keys: list[str]) -> dict[str, LoginThrottle]:
    rows = await session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    return {r.key: r for r in rows.scalars()}


def _state(row: LoginThrottle | None) -> throttle.State:
    if row is None:
        return throttle.State()
    return throttle.State(row.failures, row.last_failure_at, row.locked_until)


async def wait_needed(session: AsyncSession, keys: list[str], now: datetime) -> timedelta:
    """How long sign-in stays refused for these keys (zero: it may be tried)."""
    rows = await _throttle_rows(session, keys)
    return max((throttle.retry_after(throttle.current(_state(rows.get(k)), now), now) for k in keys),
               default=timedelta(0))


async def _count_failure(session: AsyncSession, keys: list[str], now: datetime) -> None:
    rows = await _throttle_rows(session, keys)
    for key in keys:
        state = throttle.after_failure(_state(rows.get(key)), now)
        row = rows.get(key)
        if row is None:
            try:
                async with session.begin_nested():  # another sign-in may insert the key first
                    session.add(LoginThrottle(key=key, failures=state.failures, last_failure_at=now,
                                              locked_until=state.locked_until))
                continue
            except IntegrityError:
                row = await session.get(LoginThrottle, key, populate_existing=True)
                if row is None:
                    continue
                state = throttle.after_failure(_state(row), now)
        row.failures, row.last_failure_at, row.locked_until = state.failures, now, state.locked_until
    await session.flush()


# --- sessions ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SignIn:
    """A sign-in's outcome: ``secret`` (for the cookie) when it worked, else ``wait`` when throttled."""

    user: User | None = None
    secret: str | None = None
    wait: timedelta = timedelta(0)


async def sign_in(session: AsyncSession, email: str, password: str, address: str | None, now: datetime) -> SignIn:
    """Check the password and open a session. A wrong email and a wrong password fail alike
    (same answer, one Argon2 verification either way) and count against the throttle; while the
    account or the address is throttled the password is not even checked."""
    keys = throttle_keys(email, address)
    wait = await wait_needed(session, keys, now)
    if wait:
        return SignIn(wait=wait)
    try:
        user: User | None = await live_user(session, email=email)
    except InvalidInput:
        user = None
    stored = await session.get(UserPassword, user.id) if user is not None else None
    if user is None or not passwords.verify(stored.hash if stored else None, password):
        await _count_failure(session, keys, now)
        return SignIn()
    assert stored is not None
    if passwords.needs_rehash(stored.hash):
        stored.hash = passwords.hash_password(password)
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0]))
    secret = secrets.token_urlsafe(32)
    session.add(UiSession(id=new_id(), token_hash=_digest(secret), user_id=user.id, created_at=now,
                          expires_at=now + timedelta(seconds=SESSION_SECONDS)))
    await session.flush()
    return SignIn(user=user, secret=secret)


async def session_user(session: AsyncSession, secret: str, now: datetime) -> User | None:
    """The live user of the session with this secret; None when it ended, expired or the user
    was deleted."""
    digest = _digest(secret)
    row = (await session.execute(
        select(UiSession, User).join(User, User.id == UiSession.user_id)
        .where(UiSession.token_hash == digest, UiSession.expires_at > now, User.deleted_at.is_(None))
    )).first()
    if row is None or not hmac.compare_digest(row[0].token_hash, digest):
        return None
    user: User = row[1]
    return user


async def sign_out(session: AsyncSession, secret: str) -> None:
    await session.execute(delete(UiSession).where(UiSession.token_hash == _digest(secret)))


# --- set-password links --------------------------------------------------------------------------

def _link_serializer(key: bytes, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=f"tocsin.ui.link.{purpose}")


async def create_link(session: AsyncSession, user_id: str, purpose: str, now: datetime) -> str:
    """A signed token for a set-password link: the row's id and a random secret (its digest is
    stored), valid until the purpose's lifetime passes or it is used. An earlier unused link of
    the same purpose stops working (only the newest email counts)."""
    await session.execute(delete(AccountLink).where(
        AccountLink.user_id == user_id, AccountLink.purpose == purpose, AccountLink.used_at.is_(None)))
    secret = secrets.token_urlsafe(24)
    row = AccountLink(id=new_id(), token_hash=_digest(secret), user_id=user_id, purpose=purpose, created_at=now,
                      expires_at=now + LINK_LIFETIME[purpose])
    session.add(row)
    await session.flush()
    return _link_serializer(await ui_secret(session, now), purpose).dumps([row.id, secret])


async def link_sent_recently(session: AsyncSession, user_id: str, purpose: str, now: datetime) -> bool:
    """Whether an unused link of ``purpose`` was made for the user within ``RESET_INTERVAL``."""
    found = await session.execute(select(AccountLink.id).where(
        AccountLink.user_id == user_id, AccountLink.purpose == purpose, AccountLink.used_at.is_(None),
        AccountLink.created_at > now - RESET_INTERVAL).limit(1))
    return found.first() is not None


async def _link(session: AsyncSession, token: str, purpose: str, now: datetime) -> AccountLink | None:
    max_age = int(LINK_LIFETIME[purpose].total_seconds())
    try:
        # The signature's own timestamp is checked against the runtime clock's "now".
        data = _link_serializer(await ui_secret(session, now), purpose).loads(
            token, max_age=max_age + 60)
    except BadSignature:
        return None
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(x, str) for x in data)):
        return None
    row = await session.get(AccountLink, data[0], with_for_update=True)
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        return None
    if not hmac.compare_digest(row.token_hash, _digest(data[1])):
        return None
    return row


async def link_user(session: AsyncSession, token: str, purpose: str, now: datetime) -> User | None:
    """The live user a still-valid link is for; None otherwise."""
    row = await _link(session, token, purpose, now)
    if row is None:
        return None
    try:
        return await live_user(session, user_id=row.user_id)
    except InvalidInput:
        return None


async def redeem_link(session: AsyncSession, token: str, purpose: str, password: str, now: datetime) -> User | None:
    """Set the password through a link and use the link up; None when the link is not valid.
    ``InvalidInput`` (the link stays usable) when the password is not acceptable."""
    row = await _link(session, token, purpose, now)
    if row is None:
        return None
    try:
        user = await live_user(session, user_id=row.user_id)
    except InvalidInput:
        return None
    await set_password(session, user.id, password, now)
    row.used_at = now
    await session.flush()
    return user
