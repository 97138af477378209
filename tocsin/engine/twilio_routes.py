"""Twilio's inbound webhooks: SMS replies (``POST /twilio/sms``) and a call's key presses
(``POST /twilio/voice/{token}``).

Public paths (Twilio sends no API key): each request must carry a valid ``X-Twilio-Signature``
over Tocsin's public URL (``Settings.base_url`` + the path) and the form, keyed by
``TOCSIN_TWILIO_AUTH_TOKEN``; without that setting every request is refused. A genuine request
always gets TwiML back, explaining when it could not act: never an error page a phone would read.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response

from tocsin.engine.actions import (
    PHONE_CALL,
    SMS_REPLY,
    ActionResult,
    Outcome,
    act,
    bundled_incidents,
    link_secret_of,
    sms_target,
)
from tocsin.http.runtime import Runtime, runtime
from tocsin.notifications.inbound import (
    SMS_HELP,
    SMS_PATH,
    VOICE_HELP,
    clipped,
    digit_action,
    parse_sms,
    twiml_message,
    twiml_say,
)
from tocsin.notifications.links import VOICE, VOICE_PATH, verify
from tocsin.notifications.models import PHONE
from tocsin.notifications.twilio_signature import HEADER, is_valid

log = logging.getLogger(__name__)
router = APIRouter()
TWIML = "application/xml"
# Twilio's forms are a few hundred bytes; anything past this is not Twilio.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 200
DONE = {"acknowledge": "acknowledged", "resolve": "resolved"}


async def _form(request: Request) -> list[tuple[str, str]] | None:
    """The posted form's fields in order; None when the body is too large to be Twilio's."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return []  # not a form Twilio would send: the signature check below refuses it


def _public_url(rt: Runtime, request: Request) -> str:
    """The URL Twilio requested, as Tocsin publishes it (the path as sent, still encoded)."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.url.query
    return f"{rt.base_url}{path}" + (f"?{query}" if query else "")


async def _verified_form(request: Request, rt: Runtime) -> list[tuple[str, str]] | Response:
    """The form of a genuine Twilio request, or the refusal to send back."""
    fields = await _form(request)
    if fields is None:
        return Response("Request body too large", status_code=413, media_type="text/plain")
    token = rt.settings.twilio_auth_token
    if not token.get_secret_value():
        log.warning("refused a Twilio webhook: TOCSIN_TWILIO_AUTH_TOKEN is not set, so no signature can be checked")
        return Response("Forbidden", status_code=403, media_type="text/plain")
    if not is_valid(token.get_secret_value(), _public_url(rt, request), fields, request.headers.get(HEADER)):
        log.warning("refused a Twilio webhook to %s: the %s header is missing or wrong", request.url.path, HEADER)
        return Response("Forbidden", status_code=403, media_type="text/plain")
    return fields


def _reply(result: ActionResult, action: str) -> str:
    """What the person is told (by SMS or spoken) about an action's result."""
    view = result.view
    if result.outcome is Outcome.DONE and view is not None:
        return f"Incident #{view.number} {DONE[action]}: {clipped(view.title)}"
    if result.outcome is Outcome.ALREADY_RESOLVED and view is not None:
        return f"Incident #{view.number} is already resolved."
    if result.outcome is Outcome.NO_USER:
        return "The user this phone was paged for no longer exists in Tocsin."
    if result.outcome is Outcome.NOT_ALLOWED:
        return "Your role in Tocsin may not change incidents."
    return "That incident no longer exists."


@router.post(SMS_PATH, include_in_schema=False)
async def sms_reply(request: Request, rt: Runtime = Depends(runtime)) -> Response:
    """4 acknowledges, 6 resolves the latest incident sent to the sender ("4 123": incident #123)."""
    fields = await _verified_form(request, rt)
    if isinstance(fields, Response):
        return fields
    values = dict(fields)
    command = parse_sms(values.get("Body", ""))
    if command is None:
        return Response(twiml_message(SMS_HELP), media_type=TWIML)
    phone = values.get("From", "").strip()
    async with rt.db.transaction() as session:
        target = await sms_target(session, phone, command.incident_number)
        if target is None:
            text = (f"Incident #{command.incident_number} was not sent to this phone."
                    if command.incident_number is not None else "No open incident was sent to this phone.")
        else:
            incident_ids, user_id = target
            results = [await act(session, incident_id, user_id, command.action, SMS_REPLY, rt.clock.now())
                       for incident_id in incident_ids]
            text = _replies(results, command.action)
    return Response(twiml_message(text), media_type=TWIML)


def _replies(results: list[ActionResult], action: str) -> str:
    """One answer for the incidents of one reply (several when it answered a bundled page)."""
    if len(results) == 1:
        return _reply(results[0], action)
    done = [r.view.number for r in results if r.outcome is Outcome.DONE and r.view is not None]
    if not done:
        return _reply(results[0], action)
    numbers = ", ".join(f"#{n}" for n in done)
    return clipped(f"{len(done)} incidents {DONE[action]}: {numbers}")


@router.post(VOICE_PATH + "/{token}", include_in_schema=False)
async def voice_keys(token: str, request: Request, rt: Runtime = Depends(runtime)) -> Response:
    """The key pressed during a page call (the signed token names the incident and the user)."""
    fields = await _verified_form(request, rt)
    if isinstance(fields, Response):
        return fields
    now = rt.clock.now()
    claim = verify(await link_secret_of(rt.db, now), token, now)
    if claim is None or claim.action != VOICE:
        return Response(twiml_say("This call can no longer change the incident. Open Tocsin to act on it. Goodbye."),
                        media_type=TWIML)
    action = digit_action(dict(fields).get("Digits", ""))
    if action is None:
        return Response(twiml_say(VOICE_HELP, gather_url=f"{rt.base_url}{VOICE_PATH}/{token}"), media_type=TWIML)
    async with rt.db.transaction() as session:
        incident_ids = [claim.incident_id]
        if claim.bundle is not None:  # a bundled page: the key answers for all its open incidents
            incident_ids = await bundled_incidents(session, claim.bundle, claim.user_id, PHONE) or incident_ids
        results = [await act(session, incident_id, claim.user_id, action, PHONE_CALL, now)
                   for incident_id in incident_ids]
    return Response(twiml_say(_replies(results, action) + " Goodbye."), media_type=TWIML)
