"""Choosing a password through an emailed link (invitation or reset), and asking for a reset."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.auth.logic import live_user
from tocsin.errors import InvalidInput
from tocsin.ui import accounts, mailer
from tocsin.ui.models import INVITATION, RESET
from tocsin.ui.web import Viewer, checked_form, one, page, redirect, ui_of, viewer

router = APIRouter()
PURPOSES = (INVITATION, RESET)
SET_PATH = mailer.SET_PATH


@router.get("/ui/password/forgot")
async def forgot(request: Request, who: Viewer = Depends(viewer)) -> Response:
    return page(request, who, "password_forgot.html", title="Reset your password", sent=False)


@router.post("/ui/password/forgot")
async def forgot_submit(request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    email = one(form, "email").strip()[:320]
    ui = ui_of(request)
    async with ui.rt.db.transaction() as session:
        try:
            user = await live_user(session, email=email)
            target: tuple[str, str, str] | None = (user.id, user.email, user.name)
            if await accounts.link_sent_recently(session, user.id, RESET, ui.rt.clock.now()):
                target = None  # one email a minute at most; the answer stays the same
        except InvalidInput:
            target = None
    if target is not None:
        # The answer is the same whether or not the account exists (nothing to learn from it).
        await mailer.send_link(ui.rt.db, ui.rt.clock.now, ui.rt.base_url, ui.email(), target, RESET)
    return page(request, who, "password_forgot.html", title="Reset your password", sent=True)


def _purpose(value: str) -> str:
    return value if value in PURPOSES else RESET


@router.get(SET_PATH)
async def choose(request: Request, who: Viewer = Depends(viewer)) -> Response:
    purpose, token = _purpose(request.query_params.get("purpose", "")), request.query_params.get("token", "")
    ui = ui_of(request)
    async with ui.rt.db.transaction() as session:
        user = await accounts.link_user(session, token, purpose, ui.rt.clock.now())
    if user is None:
        return page(request, who, "message.html", status=410, title="This link no longer works",
                    text="Links to choose a password work once and expire. Ask for a new one.",
                    link=("/ui/password/forgot", "Ask for a new link"))
    return page(request, who, "password_set.html", title="Choose your password", token=token, purpose=purpose,
                account=user.email, error=None)


@router.post(SET_PATH)
async def choose_submit(request: Request, who: Viewer = Depends(viewer)) -> Response:
    form = await checked_form(request, who)
    purpose, token = _purpose(one(form, "purpose")), one(form, "token")
    password, again = one(form, "password"), one(form, "password_again")
    ui = ui_of(request)
    error = "The two passwords are not the same." if password != again else None
    if error is None:
        try:
            async with ui.rt.db.transaction() as session:
                user = await accounts.redeem_link(session, token, purpose, password, ui.rt.clock.now())
        except InvalidInput as exc:
            error = "; ".join(exc.errors)
        else:
            if user is None:
                return page(request, who, "message.html", status=410, title="This link no longer works",
                            text="Links to choose a password work once and expire. Ask for a new one.",
                            link=("/ui/password/forgot", "Ask for a new link"))
            return redirect(request, who, "/ui/sign-in", notice="password_set")
    async with ui.rt.db.transaction() as session:
        account = await accounts.link_user(session, token, purpose, ui.rt.clock.now())
    return page(request, who, "password_set.html", status=400, title="Choose your password", token=token,
                purpose=purpose, account=account.email if account else "", error=error)
