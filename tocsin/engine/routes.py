"""Acting from a notification without signing in, and test notifications.

``GET /notification_actions/{token}`` shows the incident and one button; ``POST`` on the same URL
acts (``actions.act``) as the user the signed token names. Both are public (the gate lets them
through): the token is the credential. Answers are small HTML pages, never JSON errors: whoever
follows the link is a person with a browser. ``POST /users/{id}/contact_methods/{cm_id}/test``
is a REST route like any other (``users.write``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tocsin.auth.access import Principal, audit_actor, require
from tocsin.engine.action_pages import (
    action_page,
    already_resolved_page,
    bundle_action_page,
    bundle_done_page,
    done_page,
    message_page,
)
from tocsin.engine.actions import (
    LINK,
    ActionResult,
    Outcome,
    act,
    bundle_views,
    bundled_incidents,
    incident_view,
    link_secret_of,
)
from tocsin.engine.trial_send import ChannelLookup, send_test
from tocsin.http.runtime import Runtime, runtime
from tocsin.notifications.links import ACKNOWLEDGE, ACTION_PATH, RESOLVE, LinkClaim, is_genuine, verify
from tocsin.notifications.models import EMAIL
from tocsin.notifications.wire import notification_json
from tocsin.users.logic import Editor
from tocsin.users.queries import user_refs

router = APIRouter()

# The pages embed nothing from elsewhere and must not be framed (one button is a clickjacking
# target), cached, or leak their URL (the token) in a Referer.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _html(status: int, page: str) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


async def _claim(rt: Runtime, token: str) -> LinkClaim | HTMLResponse:
    """The token's claim, or the page saying why there is none (404 broken, 410 expired)."""
    secret = await link_secret_of(rt.db, rt.clock.now())
    claim = verify(secret, token, rt.clock.now())
    if claim is not None and claim.action in (ACKNOWLEDGE, RESOLVE):
        return claim
    if claim is None and is_genuine(secret, token):
        return _html(410, message_page(
            "This link has expired",
            "Links in notifications work for 24 hours. Open the incident in Tocsin, or act on a newer notification."))
    return _html(404, message_page("This link is not valid",
                                   "It may have been cut short by your mail program. Try the whole link again."))


@router.get(ACTION_PATH + "/{token}", include_in_schema=False)
async def show_action(token: str, rt: Runtime = Depends(runtime)) -> HTMLResponse:
    """Only shows (mail scanners follow links): the incident and one button."""
    claim = await _claim(rt, token)
    if isinstance(claim, HTMLResponse):
        return claim
    if claim.bundle is not None:  # a bundled email's "all" link
        async with rt.db.transaction() as session:
            views = await bundle_views(session, claim.bundle, claim.user_id, EMAIL)
        if not views:
            return _html(200, message_page("Nothing left to do", NOTHING_OPEN))
        return _html(200, bundle_action_page(views, claim.action, f"{rt.base_url}{ACTION_PATH}/{token}"))
    async with rt.db.transaction() as session:
        view = await incident_view(session, claim.incident_id)
    if view is None:
        return _html(404, message_page("Incident not found", "This incident no longer exists."))
    return _html(200, action_page(view, claim.action, f"{rt.base_url}{ACTION_PATH}/{token}"))


def _result_page(result: ActionResult, action: str) -> HTMLResponse:
    view = result.view
    if result.outcome is Outcome.DONE and view is not None:
        return _html(200, done_page(view, action, result.user_name or "you"))
    if result.outcome is Outcome.ALREADY_RESOLVED and view is not None:
        return _html(200, already_resolved_page(view))
    if result.outcome is Outcome.NO_USER:
        return _html(403, message_page("Not allowed", "The user this link was sent to no longer exists in Tocsin."))
    if result.outcome is Outcome.NOT_ALLOWED:
        return _html(403, message_page("Not allowed", "Your role in Tocsin may not change incidents."))
    return _html(404, message_page("Incident not found", "This incident no longer exists."))


@router.post(ACTION_PATH + "/{token}", include_in_schema=False)
async def do_action(token: str, rt: Runtime = Depends(runtime)) -> HTMLResponse:
    """The page's button: acknowledge or resolve as the token's user (the form has no fields)."""
    claim = await _claim(rt, token)
    if isinstance(claim, HTMLResponse):
        return claim
    if claim.bundle is not None:
        return await _act_on_bundle(rt, claim)
    async with rt.db.transaction() as session:
        result = await act(session, claim.incident_id, claim.user_id, claim.action, LINK, rt.clock.now())
    return _result_page(result, claim.action)


NOTHING_OPEN = "Every incident of this notification is resolved already."


async def _act_on_bundle(rt: Runtime, claim: LinkClaim) -> HTMLResponse:
    """An "all" link's button: the action on each open incident the bundled page named, in one
    transaction (all or none), as the token's user."""
    assert claim.bundle is not None
    results: list[ActionResult] = []
    async with rt.db.transaction() as session:
        for incident_id in await bundled_incidents(session, claim.bundle, claim.user_id, EMAIL):
            result = await act(session, incident_id, claim.user_id, claim.action, LINK, rt.clock.now())
            if result.outcome in (Outcome.NO_USER, Outcome.NOT_ALLOWED):
                # Decided by who the user is, before any change: the first incident says it for all.
                return _result_page(result, claim.action)
            results.append(result)
    done = [r.view for r in results if r.outcome is Outcome.DONE and r.view is not None]
    if not done:
        return _html(200, message_page("Nothing left to do", NOTHING_OPEN))
    return _html(200, bundle_done_page(done, claim.action, next(r.user_name for r in results) or "you"))


# --- test notifications --------------------------------------------------------------------------

async def channel_lookup(request: Request) -> ChannelLookup:
    """The process's channels, set on the app by the composition root."""
    lookup: ChannelLookup = request.app.state.channels
    return lookup


@router.post("/users/{user_id}/contact_methods/{method_id}/test", tags=["Users"], description=(
    "Tocsin extension: sends a message starting with `[Test message]` to this contact method through "
    "its real channel at once, and answers with the recorded notification: `status` `sent` with the "
    "provider's answer in `provider_response`, or `failed` with the reason in `error` (also when the "
    "channel is not configured: the test ran, so the answer is still 200). Needs users.write; users "
    "may test their own contact methods, admins anyone's."))
async def send_test_notification(
    user_id: str, method_id: str, request: Request, rt: Runtime = Depends(runtime),
    principal: Principal = Depends(require("users.write")), channels: ChannelLookup = Depends(channel_lookup),
) -> dict[str, Any]:
    editor = Editor(role=principal.role, user_id=principal.user_id, audit=audit_actor(principal, request))
    row = await send_test(rt.db, channels, editor, user_id, method_id, rt.clock.now)
    async with rt.db.transaction() as session:
        users = await user_refs(session, [user_id])
    return {"notification": notification_json(rt.base_url, row, users=users)}
