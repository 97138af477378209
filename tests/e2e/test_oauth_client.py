"""OAuth 2.0 client credentials end to end with the PyPI ``pagerduty`` client's own token client:
an admin registers an app, the app exchanges its credentials for a scoped token at
``/oauth/token``, then uses it as a ``Bearer`` token with the REST client."""

from __future__ import annotations

from typing import Any

import pagerduty
import pytest

from tests.e2e.conftest import TlsServer
from tests.e2e.helpers import answer

pytestmark = pytest.mark.e2e


def _register(rest: pagerduty.RestApiV2Client, name: str, scopes: list[str]) -> dict[str, Any]:
    # /oauth_clients is a Tocsin extension, so the client's wrapped-entity helpers don't know it.
    answer = rest.post("/oauth_clients", json={"oauth_client": {"name": name, "scopes": scopes}})
    assert answer.status_code == 201, answer.text
    return answer.json()["oauth_client"]


def test_scoped_app_token_reads_but_cannot_write(tls_server: TlsServer, rest: pagerduty.RestApiV2Client) -> None:
    app = _register(rest, "status page", ["incidents.read", "services.read"])
    exchange = pagerduty.OAuthTokenClient(
        app["client_secret"], app["id"], base_url=tls_server.url, verify=tls_server.cert.client_context())
    try:
        # PagerDuty's scope string starts with the account; Tocsin accepts and ignores it.
        grant = exchange.get_scoped_app_token("as_account-us.tocsin incidents.read")
    finally:
        exchange.close()
    assert grant["token_type"].lower() == "bearer"
    assert set(grant["scope"].split()) == {"incidents.read"}
    assert grant["expires_in"] > 0 and "expiration_date" in grant

    app_client = pagerduty.RestApiV2Client(
        grant["access_token"], auth_type="bearer", base_url=tls_server.url,
        verify=tls_server.cert.client_context())
    try:
        assert isinstance(app_client.list_all("incidents", params={"limit": 5}), list)
        with pytest.raises(pagerduty.HttpError) as refused:
            app_client.rget("/services")  # the client may have services.read, this token does not
        assert answer(refused.value).status_code == 403
        with pytest.raises(pagerduty.HttpError) as refused:
            app_client.rput("/incidents", json={"incidents": []})
        assert answer(refused.value).status_code == 403
    finally:
        app_client.close()


def test_wrong_secret_is_refused(tls_server: TlsServer, rest: pagerduty.RestApiV2Client) -> None:
    app = _register(rest, "bad", ["read"])
    exchange = pagerduty.OAuthTokenClient(
        "not-the-secret", app["id"], base_url=tls_server.url, verify=tls_server.cert.client_context())
    try:
        with pytest.raises(pagerduty.HttpError) as refused:
            exchange.get_scoped_app_token("read")
    finally:
        exchange.close()
    assert answer(refused.value).status_code == 401
    assert answer(refused.value).json()["error"] == "invalid_client"
