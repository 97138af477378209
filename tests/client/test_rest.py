"""The REST client against a real HTTP server: headers, both paginations, 429 handling, errors."""

from __future__ import annotations

import pytest

from tests.client.stub import Reply, Seen, stub_server
from tocsin.client import ApiError, Credentials, RestClient
from tocsin.client.events import EventsClient, alert_event, change_event


def client(url: str, waits: list[float], max_retries: int = 5) -> RestClient:
    return RestClient(Credentials(url, "abcdefghij0123456789", "me@example.com"), sleep=waits.append,
                      max_retries=max_retries)


def test_every_request_carries_pagerduty_headers() -> None:
    with stub_server(lambda r: Reply(200, {"users": []})) as stub, client(stub.url, []) as rest:
        rest.get("/users", {"statuses[]": ["triggered", "acknowledged"], "total": True, "query": None})
        rest.post("/incidents", {"incident": {}})
    get, post = stub.seen
    assert get.headers["authorization"] == "Token token=abcdefghij0123456789"
    assert get.headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert get.headers["from"] == "me@example.com"
    assert get.params("statuses[]") == ["triggered", "acknowledged"]
    assert get.param("total") == "true" and get.param("query") is None
    assert post.body == {"incident": {}} and post.headers["content-type"] == "application/json"


def test_an_oauth_token_is_sent_as_bearer_and_never_shown() -> None:
    credentials = Credentials("http://x", "secret-oauth-token", scheme="bearer")
    assert credentials.headers()["Authorization"] == "Bearer secret-oauth-token"
    assert "secret-oauth-token" not in repr(credentials)


def test_offset_pagination_follows_more_until_false() -> None:
    items = [{"id": f"P{n:06d}"} for n in range(7)]

    def page(request: Seen) -> Reply:
        offset, limit = int(request.param("offset") or 0), int(request.param("limit") or 25)
        chunk = items[offset:offset + limit]
        return Reply(200, {"services": chunk, "limit": limit, "offset": offset,
                           "more": offset + limit < len(items), "total": None})

    with stub_server(page) as stub, client(stub.url, []) as rest:
        found = list(rest.iter_offset("/services", params={"query": "x"}, page_size=3))
    assert found == items
    assert [(r.param("offset"), r.param("limit"), r.param("query")) for r in stub.seen] == [
        ("0", "3", "x"), ("3", "3", "x"), ("6", "3", "x")]


def test_cursor_pagination_follows_next_cursor() -> None:
    pages = {None: (["a", "b"], "c1"), "c1": (["c"], "c2"), "c2": ([], None)}

    def page(request: Seen) -> Reply:
        records, following = pages[request.param("cursor")]
        return Reply(200, {"records": [{"id": r} for r in records], "next_cursor": following, "limit": 2})

    with stub_server(page) as stub, client(stub.url, []) as rest:
        found = [r["id"] for r in rest.iter_cursor("/audit/records", page_size=2)]
    assert found == ["a", "b", "c"]
    assert [r.param("cursor") for r in stub.seen] == [None, "c1", "c2"]


def test_a_429_waits_as_the_server_says_then_succeeds() -> None:
    answers = iter([Reply(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}},
                          {"ratelimit-reset": "3"}),
                    Reply(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, {"Retry-After": "5"}),
                    Reply(201, {"incident": {"id": "P1"}})])
    waits: list[float] = []
    with stub_server(lambda r: next(answers)) as stub, client(stub.url, waits) as rest:
        assert rest.post("/incidents", {"incident": {}}) == {"incident": {"id": "P1"}}
    assert len(stub.seen) == 3  # a refused write was not applied: retrying it is safe
    assert 3 <= waits[0] <= 3.25 and 5 <= waits[1] <= 5.25


def test_a_429_that_persists_becomes_an_error_saying_when_to_come_back() -> None:
    waits: list[float] = []
    with stub_server(lambda r: Reply(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}},
                                     {"ratelimit-reset": "4"})) as stub, client(stub.url, waits, max_retries=2) as rest:
        with pytest.raises(ApiError) as caught:
            rest.get("/incidents")
    assert len(stub.seen) == 3 and len(waits) == 2
    assert caught.value.status == 429 and caught.value.code == 2020 and caught.value.retry_after == 4


def test_reads_retry_a_briefly_unavailable_server_writes_do_not() -> None:
    answers = iter([Reply(503, None), Reply(200, {"users": []})])
    with stub_server(lambda r: next(answers)) as stub, client(stub.url, []) as rest:
        assert rest.get("/users") == {"users": []}
    with stub_server(lambda r: Reply(503, None)) as stub, client(stub.url, []) as rest:
        with pytest.raises(ApiError) as caught:
            rest.put("/incidents/P1", {"incident": {}})
    assert caught.value.status == 503 and len(stub.seen) == 1


def test_errors_carry_the_servers_message_and_errors() -> None:
    body = {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["name can't be blank"]}}
    with stub_server(lambda r: Reply(400, body)) as stub, client(stub.url, []) as rest:
        with pytest.raises(ApiError) as caught:
            rest.post("/services", {"service": {}})
    error = caught.value
    assert (error.status, error.code, error.message, error.errors) == (400, 2001, "Invalid Input Provided",
                                                                       ("name can't be blank",))
    assert error.method == "POST" and error.url.endswith("/services")
    assert "name can't be blank" in str(error)


def test_an_answer_that_is_not_json_still_gives_a_message() -> None:
    with stub_server(lambda r: Reply(502, None)) as stub, client(stub.url, [], max_retries=0) as rest:
        with pytest.raises(ApiError) as caught:
            rest.get("/x")
    assert caught.value.status == 502 and caught.value.message


def test_no_server_is_an_error_without_a_status() -> None:
    with stub_server() as stub:
        url = stub.url
    waits: list[float] = []
    with client(url, waits) as rest, pytest.raises(ApiError) as caught:
        rest.get("/users")
    assert caught.value.status is None and caught.value.unreachable
    assert waits == []  # a refused connection is not retried: nobody is listening


def test_events_are_posted_to_their_paths_and_errors_read_in_the_events_shape() -> None:
    def answer(request: Seen) -> Reply:
        if request.body.get("routing_key") == "bad":
            return Reply(400, {"status": "invalid event", "message": "Event object is invalid",
                               "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"]})
        return Reply(202, {"status": "success", "message": "Event processed",
                           "dedup_key": request.body.get("dedup_key") or "generated"})

    with stub_server(answer) as stub, EventsClient(stub.url, sleep=lambda s: None) as events:
        assert events.trigger("k" * 32, "Disk full", "db1", "critical", dedup_key="d1",
                              custom_details={"free": "1%"}) == "d1"
        assert events.trigger("k" * 32, "Disk full", "db1") == "generated"
        assert events.resolve("k" * 32, "d1") == "d1"
        events.change(change_event("k" * 32, "Deployed v2", source="ci"))
        with pytest.raises(ApiError) as caught:
            events.enqueue(alert_event("bad", "acknowledge", dedup_key="x"))
    paths = [r.path for r in stub.seen]
    assert paths == ["/v2/enqueue"] * 3 + ["/v2/change/enqueue", "/v2/enqueue"]
    first = stub.seen[0].body
    assert first["payload"] == {"summary": "Disk full", "source": "db1", "severity": "critical",
                                "custom_details": {"free": "1%"}}
    assert stub.seen[2].body == {"routing_key": "k" * 32, "event_action": "resolve", "dedup_key": "d1"}
    assert caught.value.message == "Event object is invalid" and "routing_key" in caught.value.errors[0]
