"""OAuth 2.0 client credentials (RFC 6749 section 4.4): secrets, scope parsing and granting.
Pure: no I/O."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from tocsin.auth import roles
from tocsin.errors import InvalidInput

MAX_SCOPES = 100
# Tokens are far longer than the 20-character API keys, so a Bearer secret's length alone says
# which kind it is; the prefix makes a leaked one easy to recognise (e.g. by secret scanners).
TOKEN_PREFIX = "tocsin_oat_"


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: ``{"error": code, "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def new_access_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def allowed_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate the scopes an admin allows a client; sorted and without duplicates."""
    found = sorted(set(scopes))
    bad = [s for s in found if not roles.scope_is_well_formed(s)]
    if bad:
        raise InvalidInput(errors=[f"oauth_client.scopes: {s!r} is not a scope such as incidents.read or write"
                                   for s in bad[:10]])
    if not found:
        raise InvalidInput(errors=["oauth_client.scopes must name at least one scope"])
    if len(found) > MAX_SCOPES:
        raise InvalidInput(errors=[f"oauth_client.scopes may name at most {MAX_SCOPES} scopes"])
    return found


def parse_scope(raw: str | None) -> list[str] | None:
    """The space-delimited ``scope`` parameter; None when absent or empty.

    PagerDuty's scoped OAuth also sends ``as_account-<region>.<subdomain>`` to pick an account;
    Tocsin serves one account, so that entry is accepted and ignored.
    """
    if raw is None:
        return None
    wanted = [s for s in raw.split() if not s.startswith("as_account-")]
    return list(dict.fromkeys(wanted)) or None


def grant(allowed: Iterable[str], requested: list[str] | None) -> list[str]:
    """The scopes a token gets: all the client's when none were asked for, else exactly those
    asked for, each of which the client must be allowed (directly or by a broad scope)."""
    allowed = list(allowed)
    if requested is None:
        return sorted(allowed)
    malformed = [s for s in requested if not roles.scope_is_well_formed(s)]
    if malformed:
        raise OAuthError("invalid_scope", f"Unknown scope: {malformed[0][:100]}")
    refused = [s for s in requested if not roles.oauth_allows(allowed, s)]
    if refused:
        raise OAuthError("invalid_scope", f"This client may not be granted: {' '.join(refused)[:300]}")
    return sorted(requested)
