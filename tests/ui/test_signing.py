"""The session cookie is signed (tampering, another instance's key or age refuse it) and CSRF
tokens are bound to one browser's cookie."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from tocsin.ui.signing import CookieValue, Signer, new_anonymous

KEY = b"k" * 32


def test_a_cookie_round_trips_and_any_change_is_refused() -> None:
    signer = Signer(KEY)
    value = CookieValue(anonymous="anon-1", session="secret-1")
    raw = signer.dump(value)
    assert signer.load(raw) == value
    assert raw.count(".") == 2  # itsdangerous: payload.timestamp.signature
    tampered = raw[:-2] + ("A" if raw[-2] != "A" else "B") + raw[-1]
    assert signer.load(tampered) is None
    assert Signer(b"o" * 32).load(raw) is None
    assert signer.load("") is None and signer.load(None) is None and signer.load("garbage") is None


def test_an_old_cookie_is_refused() -> None:
    signer = Signer(KEY)
    raw = signer.dump(new_anonymous())
    time.sleep(1.1)
    assert signer.load(raw, max_age=0) is None
    assert signer.load(raw, max_age=60) is not None


def test_csrf_tokens_belong_to_one_cookie() -> None:
    signer = Signer(KEY)
    a, b = new_anonymous(), new_anonymous()
    assert signer.csrf_ok(a, signer.csrf_token(a))
    assert not signer.csrf_ok(b, signer.csrf_token(a))
    assert not signer.csrf_ok(a, "")
    assert not signer.csrf_ok(None, signer.csrf_token(a))
    # Signing in changes the subject: a token from before is worthless after.
    signed_in = CookieValue(a.anonymous, session="s")
    assert not signer.csrf_ok(signed_in, signer.csrf_token(a))
    assert not Signer(b"o" * 32).csrf_ok(a, signer.csrf_token(a))


@given(st.text(min_size=1, max_size=80))
def test_no_guessed_token_passes(guess: str) -> None:
    signer = Signer(KEY)
    value = CookieValue("anon")
    assert signer.csrf_ok(value, guess) == (guess == signer.csrf_token(value))
