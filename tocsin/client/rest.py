"""PagerDuty's REST API v2: headers, both kinds of pagination, errors.

Every request carries ``Authorization: Token token=<key>`` (or ``Bearer <token>`` for an OAuth
token), ``Accept: application/vnd.pagerduty+json;version=2`` and, when one is configured, the
``From`` email PagerDuty needs on writes made with an account key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from tocsin.client.errors import ApiError
from tocsin.client.transport import DEFAULT_RETRIES, Params, Sender, Sleep

ACCEPT = "application/vnd.pagerduty+json;version=2"
USER_AGENT = "tocsin-client/1"
PAGE_SIZE = 100  # PagerDuty's largest page
OFFSET_WINDOW = 10_000  # offset + limit past this is refused: classic pagination stops there


@dataclass(frozen=True)
class Credentials:
    base_url: str
    token: str
    from_email: str | None = None
    scheme: Literal["token", "bearer"] = "token"  # "bearer": an OAuth access token

    def headers(self) -> dict[str, str]:
        auth = f"Token token={self.token}" if self.scheme == "token" else f"Bearer {self.token}"
        headers = {"Authorization": auth, "Accept": ACCEPT, "User-Agent": USER_AGENT}
        if self.from_email:
            headers["From"] = self.from_email
        return headers

    def __repr__(self) -> str:  # never the token
        return f"Credentials(base_url={self.base_url!r}, from_email={self.from_email!r}, scheme={self.scheme!r})"


class RestClient:
    """A synchronous client; use it as a context manager (or call ``close``)."""

    def __init__(self, credentials: Credentials, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, max_retries: int = DEFAULT_RETRIES, sleep: Sleep = time.sleep,
                 on_wait: Callable[[float, ApiError], None] | None = None) -> None:
        self.credentials = credentials
        self._sender = Sender(credentials.base_url, credentials.headers(), transport=transport, timeout=timeout,
                              max_retries=max_retries, sleep=sleep, on_wait=on_wait)

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sender.close()

    @property
    def base_url(self) -> str:
        return self._sender.base_url

    # --- one request -----------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        """The decoded JSON answer; None for an empty one (204)."""
        response = self._sender.send(method, path, params=params, json=json,
                                     headers={"Content-Type": "application/json"} if json is not None else None)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def get(self, path: str, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, params: Params | None = None) -> Any:
        return self.request("POST", path, json=json, params=params)

    def put(self, path: str, json: Any = None, params: Params | None = None) -> Any:
        return self.request("PUT", path, json=json, params=params)

    def delete(self, path: str, params: Params | None = None) -> Any:
        return self.request("DELETE", path, params=params)

    # --- pagination --------------------------------------------------------------------------

    def iter_offset(self, path: str, key: str | None = None, params: Params | None = None,
                    page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every item of a classic (``offset``/``limit``/``more``) list, page after page.
        ``key`` names the list in the answer (default: the path's last part)."""
        key = key or _list_key(path)
        offset = 0
        while True:
            body = self.get(path, {**(params or {}), "limit": page_size, "offset": offset})
            items = _items(body, key, path)
            yield from items
            if not (isinstance(body, dict) and body.get("more")) or not items:
                return
            offset += len(items)
            if offset + page_size > OFFSET_WINDOW:
                page_size = OFFSET_WINDOW - offset
                if page_size <= 0:
                    return

    def iter_cursor(self, path: str, key: str | None = None, params: Params | None = None,
                    page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paginated list (``cursor``/``next_cursor``, e.g. audit records)."""
        key = key or _list_key(path)
        cursor: str | None = None
        while True:
            body = self.get(path, {**(params or {}), "limit": page_size, "cursor": cursor})
            yield from _items(body, key, path)
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                return

    def list_all(self, path: str, key: str | None = None, params: Params | None = None) -> list[dict[str, Any]]:
        return list(self.iter_offset(path, key, params))


def _list_key(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _items(body: Any, key: str, path: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise ApiError(f"the answer to GET {path} holds no {key!r} list", status=200, method="GET", url=path)
    return list(body[key])
