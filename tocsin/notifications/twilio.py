"""SMS and voice calls through Twilio's REST API (or any provider, or local double, speaking it).

SMS: ``POST {api}/2010-04-01/Accounts/{sid}/Messages.json`` with ``To``, ``From``, ``Body``.
Voice: ``POST .../Calls.json`` with ``To``, ``From`` and inline ``Twiml``: the message is read
inside a one-digit ``<Gather>`` whose answer Twilio posts to the message's voice callback (4
acknowledges, 6 resolves). HTTP basic auth with the account SID and auth token.

A timeout, a failed connection, 429 and 5xx are transient; any other refusal is permanent, and
Twilio's own error code and message are kept in the response.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx
from pydantic import SecretStr

from tocsin.notifications.channel import ChannelError, Delivery, Message, NotConfigured
from tocsin.notifications.models import PHONE, SMS

API_VERSION = "2010-04-01"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
BODY_LIMIT = 1600  # Twilio refuses longer SMS bodies (error 21617)


def twiml(text: str, callback_url: str | None) -> str:
    """The call's script: ``text`` read out, inside a one-digit Gather posting to ``callback_url``
    (just read out when there is none). Text and URL are XML-escaped."""
    say = f"<Say>{escape(text)}</Say>"
    if callback_url is None:
        return f"<Response>{say}</Response>"
    gather = f'<Gather numDigits="1" timeout="10" action={quoteattr(callback_url)} method="POST">{say}</Gather>'
    return f"<Response>{gather}<Say>Goodbye.</Say></Response>"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class TwilioAccount:
    """The HTTP side shared by the SMS and voice channels: one connection pool, credentials,
    and what a Twilio answer means."""

    def __init__(self, *, api_url: str, account_sid: str, auth_token: SecretStr | None, sender: str,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: httpx.Timeout = TIMEOUT) -> None:
        self.api_url, self.account_sid, self.sender = api_url.rstrip("/"), account_sid, sender
        self._token = auth_token or SecretStr("")
        self._transport, self._timeout = transport, timeout
        self._client: httpx.AsyncClient | None = None

    def missing(self) -> list[str]:
        settings = (("TOCSIN_TWILIO_API_URL", self.api_url), ("TOCSIN_TWILIO_ACCOUNT_SID", self.account_sid),
                    ("TOCSIN_TWILIO_AUTH_TOKEN", self._token.get_secret_value()), ("TOCSIN_TWILIO_FROM", self.sender))
        return [name for name, value in settings if not value]

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout,
                auth=httpx.BasicAuth(self.account_sid, self._token.get_secret_value()),
                headers={"Accept": "application/json"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def create(self, resource: str, form: dict[str, str]) -> Delivery:
        """POST ``form`` to ``Accounts/{sid}/{resource}.json``; the created resource's sid and status."""
        url = f"{self.api_url}/{API_VERSION}/Accounts/{self.account_sid}/{resource}.json"
        try:
            response = await self.client().post(url, data=form)
        except httpx.TimeoutException as exc:
            raise ChannelError(f"Twilio did not answer in time ({type(exc).__name__})", transient=True,
                               response={"error": type(exc).__name__}) from exc
        except httpx.TransportError as exc:
            raise ChannelError(f"Twilio unreachable: {type(exc).__name__}: {exc}", transient=True,
                               response={"error": type(exc).__name__}) from exc
        body = _json(response)
        if response.is_success:
            return Delivery(response={"http_status": response.status_code, "sid": body.get("sid"),
                                      "status": body.get("status")})
        said = {"http_status": response.status_code, "code": body.get("code"), "message": body.get("message"),
                "more_info": body.get("more_info")}
        transient = response.status_code == 429 or response.status_code >= 500
        detail = f" {body.get('code')}: {body.get('message')}" if body.get("code") or body.get("message") else ""
        raise ChannelError(f"Twilio refused ({response.status_code}){detail}", transient=transient,
                           response={k: v for k, v in said.items() if v is not None})


class TwilioChannel:
    """SMS (``name`` "sms", Messages.json) or voice (``name`` "phone", Calls.json)."""

    def __init__(self, name: str, account: TwilioAccount) -> None:
        if name not in (SMS, PHONE):
            raise ValueError(f"Twilio carries sms and phone, not {name!r}")
        self.name = name
        self.account = account

    @property
    def configured(self) -> bool:
        return not self.account.missing()

    async def send(self, message: Message) -> Delivery:
        missing = self.account.missing()
        if missing:
            raise NotConfigured(self.name, ", ".join(missing))
        form = {"To": message.address, "From": self.account.sender}
        if self.name == SMS:
            return await self.account.create("Messages", {**form, "Body": message.text[:BODY_LIMIT]})
        return await self.account.create("Calls", {**form, "Twiml": twiml(message.text, message.voice_callback_url)})
