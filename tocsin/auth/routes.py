"""Credential administration and the OAuth token endpoint — Tocsin extensions to the API.

PagerDuty has no public API for minting keys, so these routes are Tocsin's own, shaped like the
rest of the REST API:

* ``GET|POST /api_keys``, ``GET|DELETE /api_keys/{id}``: ``{"api_key": {"type": "account"|"user",
  "user": {"id": ...}, "read_only": bool, "description": str}}``; the 20-character secret is in
  the create answer's ``token`` only. Revoking takes effect at once on this node and within the
  authenticator cache's 5 seconds on others.
* ``GET|POST /oauth_clients``, ``GET|DELETE /oauth_clients/{id}``: ``{"oauth_client": {"name",
  "scopes": [...]}}``; the create answer holds ``client_id`` and, once, ``client_secret``.
* ``POST /oauth/token``: RFC 6749 client credentials grant (public; the client authenticates
  with its id and secret in the form body or HTTP Basic).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool
from sqlalchemy import select

from tocsin.auth import logic, oauth
from tocsin.auth.access import Principal, audit_actor, require, require_within
from tocsin.auth.models import ApiKey, OAuthClient, User
from tocsin.http.inputs import WireInput
from tocsin.http.pagination import page
from tocsin.http.params import PAGE, documented
from tocsin.http.refs import iso, reference
from tocsin.http.runtime import Runtime, runtime

router = APIRouter(tags=["Access (Tocsin extension)"])
KEYS_READ = require("api_keys.read")
KEYS_WRITE = require("api_keys.write")
CLIENTS_READ = require("oauth_clients.read")
CLIENTS_WRITE = require("oauth_clients.write")
MAX_FORM_BYTES = 16 * 1024


class UserRefIn(WireInput):
    id: str = Field(min_length=1, max_length=16)


class ApiKeyIn(WireInput):
    type: Literal["account", "user"] | None = None
    user: UserRefIn | None = None
    read_only: StrictBool = False
    description: str = Field(default="", max_length=200)


class ApiKeyBody(WireInput):
    api_key: ApiKeyIn


class OAuthClientIn(WireInput):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=oauth.MAX_SCOPES)


class OAuthClientBody(WireInput):
    oauth_client: OAuthClientIn


def _forget(rt: Runtime, digests: list[str]) -> None:
    rt.wiring.authenticator.forget(digests)


def api_key_json(base: str, key: ApiKey, user_name: str | None) -> dict[str, Any]:
    return {
        "id": key.id,
        "type": "api_key",
        "summary": key.description or f"API key ending {key.truncated_token or '…'}",
        "self": f"{base}/api_keys/{key.id}",
        "html_url": None,
        "key_type": key.kind,
        "user": reference(base, "user", key.user_id, user_name or "") if key.user_id else None,
        "read_only": key.read_only,
        "description": key.description,
        "truncated_token": key.truncated_token,
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


def oauth_client_json(base: str, client: OAuthClient) -> dict[str, Any]:
    return {
        "id": client.id,
        "type": "oauth_client",
        "summary": client.name,
        "self": f"{base}/oauth_clients/{client.id}",
        "html_url": None,
        "client_id": client.id,
        "name": client.name,
        "scopes": list(client.scopes),
        "created_at": iso(client.created_at),
        "revoked_at": iso(client.revoked_at),
    }


async def _user_names(session: Any, keys: list[ApiKey]) -> dict[str, str]:
    ids = {k.user_id for k in keys if k.user_id}
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.name).where(User.id.in_(ids)))).all())


@router.get("/api_keys", openapi_extra=documented(*PAGE))
async def list_api_keys(request: Request, _: Principal = Depends(KEYS_READ),
                        rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
        names = await _user_names(session, rows)
    items = [api_key_json(rt.base_url, k, names.get(k.user_id or "")) for k in rows]
    return p.body("api_keys", items, total, p.offset + len(items) < total)


@router.post("/api_keys", status_code=201)
async def create_api_key(body: ApiKeyBody, request: Request, principal: Principal = Depends(KEYS_WRITE),
                         rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    wanted = body.api_key
    key_type = wanted.type or ("user" if wanted.user else "account")
    async with rt.db.transaction() as session:
        key, secret = await logic.create_api_key(
            session, rt.clock.now(), audit_actor(principal, request), key_type=key_type,
            user_id=wanted.user.id if wanted.user else None, read_only=wanted.read_only,
            description=wanted.description,
        )
        # Checked on the key as made (its user's role known); refusing rolls the key back.
        user = await session.get(User, key.user_id) if key.user_id else None
        role = user.role if user is not None else None
        require_within(principal, Principal("", key.kind, key.read_only, key.user_id, role=role))
        names = await _user_names(session, [key])
    return {"api_key": {**api_key_json(rt.base_url, key, names.get(key.user_id or "")), "token": secret}}


@router.get("/api_keys/{key_id}")
async def get_api_key(key_id: str, _: Principal = Depends(KEYS_READ), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        key = await logic.get_api_key(session, key_id)
        names = await _user_names(session, [key])
    return {"api_key": api_key_json(rt.base_url, key, names.get(key.user_id or ""))}


@router.delete("/api_keys/{key_id}", status_code=204)
async def revoke_api_key(key_id: str, request: Request, principal: Principal = Depends(KEYS_WRITE),
                         rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        key = await logic.revoke_api_key(session, key_id, rt.clock.now(), audit_actor(principal, request))
    _forget(rt, [key.token_hash])
    return Response(status_code=204)


@router.get("/oauth_clients", openapi_extra=documented(*PAGE))
async def list_oauth_clients(request: Request, _: Principal = Depends(CLIENTS_READ),
                             rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    p = page(request)
    async with rt.db.transaction() as session:
        rows, total = await p.fetch(session, select(OAuthClient).order_by(OAuthClient.created_at, OAuthClient.id))
    items = [oauth_client_json(rt.base_url, c) for c in rows]
    return p.body("oauth_clients", items, total, p.offset + len(items) < total)


@router.post("/oauth_clients", status_code=201)
async def create_oauth_client(body: OAuthClientBody, request: Request,
                              principal: Principal = Depends(CLIENTS_WRITE),
                              rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        client, secret = await logic.create_oauth_client(
            session, rt.clock.now(), audit_actor(principal, request),
            name=body.oauth_client.name, scopes=body.oauth_client.scopes,
        )
        require_within(principal, Principal("", "oauth", False, scopes=frozenset(client.scopes)))
    return {"oauth_client": {**oauth_client_json(rt.base_url, client), "client_secret": secret}}


@router.get("/oauth_clients/{client_id}")
async def get_oauth_client(client_id: str, _: Principal = Depends(CLIENTS_READ),
                           rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    async with rt.db.transaction() as session:
        client = await logic.get_oauth_client(session, client_id)
    return {"oauth_client": oauth_client_json(rt.base_url, client)}


@router.delete("/oauth_clients/{client_id}", status_code=204)
async def revoke_oauth_client(client_id: str, request: Request, principal: Principal = Depends(CLIENTS_WRITE),
                              rt: Runtime = Depends(runtime)) -> Response:
    async with rt.db.transaction() as session:
        _, digests = await logic.revoke_oauth_client(session, client_id, rt.clock.now(),
                                                      audit_actor(principal, request))
    _forget(rt, digests)
    return Response(status_code=204)


# --- POST /oauth/token ---------------------------------------------------------------------

# RFC 6749 5.1: token answers (and errors) must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(exc: oauth.OAuthError, basic: bool) -> JSONResponse:
    headers = dict(_NO_STORE)
    if exc.status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="tocsin"'
    return JSONResponse({"error": exc.error, "error_description": exc.description},
                        status_code=exc.status, headers=headers)


def _form(raw: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise oauth.OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 3.2: parameters must not repeat
            raise oauth.OAuthError("invalid_request", f"Parameter {name} is repeated")
        if "\x00" in value:
            raise oauth.OAuthError("invalid_request", f"Parameter {name} contains a NUL character")
        form[name] = value
    return form


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise oauth.OAuthError("invalid_client", "Malformed HTTP Basic credentials", 401) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise oauth.OAuthError("invalid_client", "Malformed HTTP Basic credentials", 401)
    # RFC 6749 2.3.1: id and secret are form-encoded before Basic encoding.
    client_id, secret = unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
    if "\x00" in client_id or "\x00" in secret:  # no client has one; PostgreSQL cannot even look it up
        raise oauth.OAuthError("invalid_client", "Malformed HTTP Basic credentials", 401)
    return client_id, secret


@router.post("/oauth/token", include_in_schema=True)
async def token(request: Request, rt: Runtime = Depends(runtime)) -> JSONResponse:
    # Whether the client tried HTTP Basic (even malformed): its 401s then carry the challenge.
    basic = request.headers.get("authorization", "").strip().lower().startswith("basic")
    try:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise oauth.OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                raise oauth.OAuthError("invalid_request", "The request body is too large")
        form = _form(raw)
        from_header = _basic_credentials(request.headers.get("authorization", ""))
        if from_header is not None and ("client_id" in form or "client_secret" in form):
            raise oauth.OAuthError("invalid_request", "Use one client authentication method, not two")
        client_id, client_secret = from_header or (form.get("client_id", ""), form.get("client_secret", ""))
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise oauth.OAuthError("invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise oauth.OAuthError("unsupported_grant_type", "Only the client_credentials grant is supported")
        if not client_id or not client_secret:
            raise oauth.OAuthError("invalid_client", "client_id and client_secret are required", 401)
        requested = oauth.parse_scope(form.get("scope"))
        async with rt.db.transaction() as session:
            issued = await logic.issue_access_token(
                session, rt.clock.now(), client_id=client_id, client_secret=client_secret,
                requested=requested, ttl=rt.settings.oauth_token_ttl,
            )
    except oauth.OAuthError as exc:
        return _oauth_error(exc, basic)
    return JSONResponse({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "scope": " ".join(issued.scopes),
    }, headers=_NO_STORE)
