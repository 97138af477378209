"""Signing in over HTTP: the sign-in page is what a signed-out visitor to / sees, a good password
opens a session cookie (HTTP-only, SameSite=Lax), a wrong one is refused alike for unknown
accounts, five failures throttle (stored: another process sees it), signing out ends the session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import Harness
from tests.ui.helpers import PASSWORD, browser, csrf_of, set_password, sign_in
from tocsin.clock import FrozenClock
from tocsin.db.session import Database
from tocsin.ui import accounts
from tocsin.ui.models import LoginThrottle, UiSession
from tocsin.ui.signing import COOKIE
from tocsin.ui.throttle import BASE_LOCK


async def test_a_signed_out_visitor_sees_the_sign_in_page_and_can_sign_in(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    first = await h.client.get("/")
    assert first.status_code == 200 and "<h1>Sign in to Tocsin</h1>" in first.text
    assert 'autocomplete="current-password"' in first.text
    cookie = first.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    r = await h.client.post("/ui/sign-in", data={"csrf": csrf_of(first.text), "email": h.seed.admin_email.upper(),
                                                 "password": PASSWORD, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = await h.client.get("/")
    assert home.status_code == 200 and "<h1>Incidents</h1>" in home.text and "Sign out" in home.text
    # The anonymous CSRF token of the sign-in page is worthless once signed in (a new subject).
    assert csrf_of(home.text) != csrf_of(first.text)
    # Signing out ends the session server-side: the old cookie no longer works.
    old_cookie = h.client.cookies[COOKIE]
    out = await h.client.post("/ui/sign-out", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303
    async with browser(h) as other:
        other.cookies.set(COOKIE, old_cookie)
        assert "Sign in to Tocsin" in (await other.get("/")).text


async def test_wrong_password_and_unknown_account_fail_alike(harness: Harness) -> None:
    h = harness
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        wrong = await sign_in(c, h.seed.admin_email, "not the password")
        unknown = await sign_in(c, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    message = "That email and password do not match an account."
    assert message in wrong.text and message in unknown.text
    async with h.tocsin.db.transaction() as session:
        assert list((await session.execute(select(UiSession))).scalars()) == []


async def test_a_user_without_a_password_cannot_sign_in(harness: Harness) -> None:
    async with browser(harness) as c:
        r = await sign_in(c, harness.seed.admin_email, "tocsin: no such account")
    assert r.status_code == 400


async def test_five_failures_lock_the_account_even_with_the_right_password_and_survive_a_restart(
    harness: Harness,
) -> None:
    h = harness
    clock = FrozenClock(h.tocsin.runtime.clock.now())
    h.tocsin.runtime.clock = clock
    await set_password(h, h.seed.admin_email)
    async with browser(h) as c:
        for _ in range(5):
            assert (await sign_in(c, h.seed.admin_email, "guess")).status_code == 400
        locked = await sign_in(c, h.seed.admin_email)
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
        assert int(locked.headers["retry-after"]) == int(BASE_LOCK.total_seconds())
    # Stored: a fresh connection (another process, a restart) sees the lock too.
    other = Database(h.db_url)
    try:
        async with other.transaction() as session:
            keys = accounts.throttle_keys(h.seed.admin_email, "127.0.0.1")
            assert await accounts.wait_needed(session, keys, clock.now()) == BASE_LOCK
            rows = {r.key: r.failures for r in (await session.execute(select(LoginThrottle))).scalars()}
        assert rows[keys[0]] == 5
    finally:
        await other.dispose()
    clock.advance(seconds=BASE_LOCK.total_seconds())
    async with browser(h) as c:
        assert (await sign_in(c, h.seed.admin_email)).status_code == 303
    async with h.tocsin.db.transaction() as session:
        account_row = await session.get(LoginThrottle, keys[0])
        address_row = await session.get(LoginThrottle, keys[1])
    assert account_row is None  # success clears the account's count ...
    assert address_row is not None and address_row.failures == 5  # ... not the address's


async def test_throttle_per_address_spans_accounts(harness: Harness) -> None:
    h = harness
    clock = FrozenClock(h.tocsin.runtime.clock.now())
    h.tocsin.runtime.clock = clock
    async with browser(h) as c:
        for n in range(5):
            assert (await sign_in(c, f"user{n}@example.com", "guess")).status_code == 400
        assert (await sign_in(c, "someone-else@example.com", "guess")).status_code == 429
    clock.advance(seconds=(BASE_LOCK + timedelta(seconds=1)).total_seconds())
    async with browser(h) as c:
        assert (await sign_in(c, "someone-else@example.com", "guess")).status_code == 400
