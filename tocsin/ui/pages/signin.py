"""Signing in and out. The sign-in form is also what a signed-out visitor to ``/`` sees."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.ui import accounts
from tocsin.ui.signing import CookieValue, new_anonymous
from tocsin.ui.templating import duration
from tocsin.ui.web import Viewer, checked_form, one, page, redirect, set_cookie, ui_of, viewer, with_cookie

router = APIRouter()
NOTICES = {
    "signed_out": "You are signed out.",
    "password_set": "Your password is set. Sign in with it.",
}


def _local(path: str) -> str:
    """Where to go after signing in: a path of this site only (never another site)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def sign_in_page(request: Request, who: Viewer, *, error: str | None = None, email: str = "",
                 status: int = 200, next_path: str = "/") -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return page(request, who, "sign_in.html", status=status, error=error, email=email, notice=notice,
                next_path=_local(next_path), title="Sign in")


@router.get("/ui/sign-in")
async def show(request: Request, who: Viewer = Depends(viewer)) -> Response:
    if who.user is not None:
        return redirect(request, who, "/")
    return sign_in_page(request, who, next_path=request.query_params.get("next", "/"))


@router.post("/ui/sign-in")
async def submit(request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    email, password = one(form, "email").strip()[:320], one(form, "password")
    next_path = _local(one(form, "next", "/"))
    ui = ui_of(request)
    address = request.client.host if request.client else None
    async with ui.rt.db.transaction() as session:
        result = await accounts.sign_in(session, email, password, address, ui.rt.clock.now())
    if result.wait:
        response = sign_in_page(request, who, status=429, email=email, next_path=next_path, error=(
            f"Too many failed sign-ins. Try again in {duration(result.wait)}."))
        response.headers["Retry-After"] = str(max(1, int(result.wait.total_seconds())))
        return response
    if result.secret is None:
        return sign_in_page(request, who, status=400, email=email, next_path=next_path,
                            error="That email and password do not match an account.")
    # A new anonymous id too: nothing a page showed before signing in (its CSRF token) stays valid.
    signed_in = CookieValue(anonymous=new_anonymous().anonymous, session=result.secret)
    response = redirect(request, who, next_path)
    set_cookie(response, request, signed_in)
    return response


@router.post("/ui/sign-out")
async def sign_out(request: Request, who: Viewer = Depends(viewer)) -> Response:
    await checked_form(request, who)
    ui = ui_of(request)
    if who.cookie.session is not None:
        async with ui.rt.db.transaction() as session:
            await accounts.sign_out(session, who.cookie.session)
    response = with_cookie(redirect(request, who, "/", notice="signed_out"), request, who)
    set_cookie(response, request, new_anonymous())
    return response
