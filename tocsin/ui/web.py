"""What every UI page shares: who is looking (the signed cookie -> session -> user, acting with
their role through ``tocsin.auth``'s one access table), CSRF checks on every form, form parsing,
and the responses (pages set the cookie, forms answer with a redirect: post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tocsin.audit.recorder import Actor
from tocsin.auth.access import Principal, audit_actor
from tocsin.auth.models import User
from tocsin.errors import AccessDenied, InvalidInput, TocsinError
from tocsin.http.runtime import Runtime
from tocsin.notifications.channel import Channel
from tocsin.ui import accounts
from tocsin.ui.feed import Broadcaster
from tocsin.ui.signing import COOKIE, SESSION_SECONDS, CookieValue, Signer, new_anonymous
from tocsin.ui.templating import Templates

MAX_FORM_BYTES = 64 * 1024
# The UI's pages load nothing from elsewhere, run no inline script and must not be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfRefused(TocsinError):
    status_code = 403
    code = 2010
    message = "This form has expired or was not sent from Tocsin. Reload the page and try again."


@dataclass
class UiRuntime:
    """Built once by ``tocsin.ui.app.build_ui``; handlers reach it through ``app.state.ui``."""

    rt: Runtime
    templates: Templates
    broadcaster: Broadcaster
    email: Callable[[], Channel]  # the email channel, looked up on each use (tests swap channels)
    channels: Callable[[str], Channel]  # any channel by name ("email", "sms" ...): contact method tests
    _signer: Signer | None = field(default=None, repr=False)

    async def signer(self) -> Signer:
        if self._signer is None:
            async with self.rt.db.transaction() as session:
                self._signer = Signer(await accounts.ui_secret(session, self.rt.clock.now()))
        return self._signer

    @property
    def secure_cookies(self) -> bool:
        return self.rt.base_url.startswith("https://")


def ui_of(request: Request) -> UiRuntime:
    ui: UiRuntime = request.app.state.ui
    return ui


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: a signed-in user (with their role's principal) or nobody yet."""

    cookie: CookieValue
    csrf: str
    user: User | None = None
    fresh: bool = False  # the cookie must be (re)written on the response

    @property
    def principal(self) -> Principal | None:
        if self.user is None:
            return None
        # The same Principal a user's API key would give: the same roles -> scopes table decides.
        return Principal(key_id=f"ui:{self.user.id}", kind="user", read_only=False, user_id=self.user.id,
                         role=self.user.role, summary=self.user.name)

    def may(self, scope: str) -> bool:
        principal = self.principal
        return principal is not None and principal.may(scope)


async def viewer(request: Request) -> Viewer:
    """The request's viewer; a visitor without a valid cookie gets a new anonymous one."""
    ui = ui_of(request)
    signer = await ui.signer()
    cookie = signer.load(request.cookies.get(COOKIE))
    fresh = False
    user = None
    if cookie is not None and cookie.session is not None:
        async with ui.rt.db.transaction() as session:
            user = await accounts.session_user(session, cookie.session, ui.rt.clock.now())
        if user is None:  # ended, expired, or the user is gone: carry on signed out
            cookie, fresh = CookieValue(cookie.anonymous), True
    if cookie is None:
        cookie, fresh = new_anonymous(), True
    return Viewer(cookie=cookie, csrf=signer.csrf_token(cookie), user=user, fresh=fresh)


async def form_data(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (all the UI's forms send), at most 64 KB."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidInput(errors=["The form is too large"])
    if not body:
        return {}  # an empty post (a button without fields): its CSRF check fails next
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise InvalidInput(errors=["Forms must be sent as application/x-www-form-urlencoded"])
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(errors=["The form could not be read"]) from None


def one(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


async def checked_form(request: Request, who: Viewer) -> dict[str, list[str]]:
    """The form, after its CSRF token was checked (every POST of the UI goes through here)."""
    form = await form_data(request)
    signer = await ui_of(request).signer()
    if not signer.csrf_ok(who.cookie, one(form, "csrf") or request.headers.get("x-csrf-token")):
        raise CsrfRefused()
    return form


def require_user(who: Viewer) -> User:
    if who.user is None:
        raise AccessDenied("Sign in first", errors=["Your session has ended: sign in again."])
    return who.user


def require_scope(who: Viewer, scope: str) -> User:
    user = require_user(who)
    if not who.may(scope):
        raise AccessDenied(errors=[f"Your role ({user.role}) may not do this ({scope})."])
    return user


def actor(request: Request, who: Viewer) -> Actor:
    """The audit trail's "who" for a change made in the UI: the signed-in user, in a browser."""
    principal = who.principal
    assert principal is not None  # after require_scope
    return replace(audit_actor(principal, request), method_type="browser")


def with_cookie(response: Response, request: Request, who: Viewer) -> Response:
    if who.fresh:
        set_cookie(response, request, who.cookie)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def set_cookie(response: Response, request: Request, value: CookieValue) -> None:
    ui = ui_of(request)
    assert ui._signer is not None  # read by viewer() first
    response.set_cookie(COOKIE, ui._signer.dump(value), max_age=SESSION_SECONDS, httponly=True, samesite="lax",
                        secure=ui.secure_cookies, path="/")


def page(request: Request, who: Viewer, template: str, status: int = 200, **context: Any) -> Response:
    ui = ui_of(request)
    html = ui.templates.page(template, viewer=who, csrf=who.csrf, now=ui.rt.clock.now(), request=request, **context)
    return with_cookie(HTMLResponse(html, status_code=status), request, who)


def fragment(request: Request, who: Viewer, template: str, block: str, **context: Any) -> Response:
    ui = ui_of(request)
    html = ui.templates.block(template, block, viewer=who, csrf=who.csrf, now=ui.rt.clock.now(), request=request,
                              **context)
    return with_cookie(HTMLResponse(html), request, who)


def redirect(request: Request, who: Viewer, path: str, **notice: Any) -> Response:
    """303 to ``path`` (a local path only), with a notice code for the page to show."""
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    if notice:
        path += ("&" if "?" in path else "?") + urlencode({k: v for k, v in notice.items() if v is not None})
    return with_cookie(RedirectResponse(path, status_code=303), request, who)
