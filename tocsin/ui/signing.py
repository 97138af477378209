"""Signed values the UI hands to browsers: the session cookie and CSRF tokens. No I/O.

The cookie is signed (HMAC-SHA1 through itsdangerous, with a salt of its own and a timestamp,
so an old cookie expires even if its row were not cleaned up) with the instance's UI secret
(``instance_secrets``, made on first use, shared by every process). It holds either a signed-in
session's secret or, before sign-in, a random anonymous id: both give the CSRF token of every
form the browser is shown, ``HMAC-SHA256(secret, "csrf:" + id)``, compared in constant time. A
forged post from another site carries no such token (it cannot read the page), and a token of
one browser is worthless in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "tocsin_session"
SESSION_SECONDS = 14 * 24 * 3600  # a session's lifetime; the cookie's signature expires with it
_SALT = "tocsin.ui.session"


@dataclass(frozen=True, slots=True)
class CookieValue:
    """What the cookie carries: the session's secret when signed in, else an anonymous id."""

    anonymous: str
    session: str | None = None

    @property
    def csrf_subject(self) -> str:
        return self.session or self.anonymous


def new_anonymous() -> CookieValue:
    return CookieValue(anonymous=secrets.token_urlsafe(24))


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._cookies = URLSafeTimedSerializer(secret, salt=_SALT)

    def dump(self, value: CookieValue) -> str:
        return self._cookies.dumps({"a": value.anonymous, "s": value.session})

    def load(self, raw: str | None, max_age: int = SESSION_SECONDS) -> CookieValue | None:
        """The cookie's value; None when absent, tampered with, malformed or too old."""
        if not raw:
            return None
        try:
            data = self._cookies.loads(raw, max_age=max_age)
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(data, dict) or not isinstance(data.get("a"), str):
            return None
        session = data.get("s")
        return CookieValue(data["a"], session if isinstance(session, str) else None)

    def csrf_token(self, value: CookieValue) -> str:
        return hmac.new(self._secret, b"csrf:" + value.csrf_subject.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, value: CookieValue | None, token: str | None) -> bool:
        if value is None or not token:
            return False
        # As bytes: compare_digest refuses non-ASCII str, and a form may send anything.
        return hmac.compare_digest(self.csrf_token(value).encode(), token.encode())
