"""Fuzz every REST route with bad input: no answer is a 500, every 4xx is PagerDuty-shaped, and a
rejected write changes nothing.

The route table is walked (as ``test_access`` does), so a new route is fuzzed without being listed
here. Path parameters are filled with ids that exist (made through the API first) and with
unknown or garbage ids. Bodies start from PagerDuty's own request examples
(``rest-openapiv3.json``) with their references pointed at real rows, so a mutation reaches deep
into the domain code instead of stopping at the first missing id; Hypothesis then replaces parts
with wrong types, huge or NUL-carrying values, drops keys, sets PagerDuty's documented field
names to garbage, or sends whole bodies of the wrong shape. GETs get garbage query parameters.

The Hypothesis tests run on SQLite against one app per module (fast); a deterministic pass puts
NUL characters and out-of-range integers in every field on both databases (PostgreSQL refuses
NUL in text and checks integer ranges; SQLite overflows past 64 bits).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.api.helpers import rest_routes
from tests.conftest import Harness, make_settings
from tests.helpers import create_policy, default_policy
from tocsin.api.app import Tocsin
from tocsin.bootstrap import initialise

SPEC = Path("/work/shared/pagerduty-api/rest-openapiv3.json")
PD_ERROR_CODES = {2000, 2001, 2003, 2006, 2010, 2020, 2100, 1001, 1002, 1003, 1019, 5002}
# TOCSIN_FUZZ_EXAMPLES raises the examples per route for a longer hunt (the default keeps the file fast).
FUZZ = settings(max_examples=int(os.environ.get("TOCSIN_FUZZ_EXAMPLES", "20")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

HUGE_INTS = [2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**40]
NUL = "a\x00b"
GARBAGE_IDS = ["PXXXXXX", "P", "0", "-1", "null", "x" * 3000, "%00", "P%20X", "ПЖЩ", "..", "P'; DROP TABLE x;--",
               "%FF%FE", "9" * 40]

# path segment before a parameter -> the kind of row it names
SEGMENT_KIND = {
    "services": "service", "integrations": "integration", "incidents": "incident", "alerts": "alert",
    "log_entries": "log_entry", "priorities": "priority", "change_events": "change_event",
    "schedules": "schedule", "overrides": "override", "users": "user", "contact_methods": "contact_method",
    "notification_rules": "notification_rule", "teams": "team", "escalation_policies": "policy",
    "maintenance_windows": "window", "api_keys": "api_key", "oauth_clients": "oauth_client",
    "abilities": "ability", "notes": "note", "ip_allow_lists": "ip_allow_list",
    "webhook_subscriptions": "webhook_subscription", "deliveries": "delivery",
    "forwarders": "forwarder", "chat_webhooks": "chat_webhook",
}

# Bodies for routes PagerDuty has no request example for (Tocsin extensions).
LOCAL_EXAMPLES: dict[tuple[str, str], Any] = {
    ("POST", "/priorities"): {"priority": {"name": "P9", "description": "fuzzed", "color": "aabbcc"}},
    ("PUT", "/priorities/{}"): {"priority": {"name": "P9", "description": "fuzzed", "color": "aabbcc"}},
    ("POST", "/api_keys"): {"api_key": {"type": "account", "description": "fuzz", "read_only": True}},
    ("POST", "/oauth_clients"): {"oauth_client": {"name": "fuzz", "scopes": ["incidents.read"]}},
    # PagerDuty's examples for these are references the example reader does not follow; these
    # follow them (a loopback URL: nothing is sent, no engine runs here).
    ("POST", "/webhook_subscriptions"): {"webhook_subscription": {
        "type": "webhook_subscription", "description": "fuzzed", "events": ["incident.triggered", "incident.resolved"],
        "filter": {"id": "P393ZNQ", "type": "service_reference"},
        "delivery_method": {"type": "http_delivery_method", "url": "http://127.0.0.1:9/fuzz",
                            "custom_headers": [{"name": "header-name", "value": "header-value"}]}}},
    ("PUT", "/webhook_subscriptions/{}"): {"webhook_subscription": {
        "events": ["incident.acknowledged", "incident.annotated"], "active": True, "description": "fuzzed"}},
    ("POST", "/services/{}/forwarders"): {"forwarder": {
        "integration_key": "fuzzkey", "url": "http://127.0.0.1:9/v2/enqueue", "events": ["trigger", "resolve"],
        "urgencies": ["high"], "description": "fuzzed"}},
    ("PUT", "/services/{}/forwarders/{}"): {"forwarder": {"events": ["acknowledge"], "active": True}},
    ("POST", "/services/{}/chat_webhooks"): {"chat_webhook": {
        "url": "http://127.0.0.1:9/chat", "events": ["trigger", "escalate"], "description": "fuzzed"}},
    ("PUT", "/services/{}/chat_webhooks/{}"): {"chat_webhook": {"events": ["resolve"], "active": True}},
}

QUERY_KEYS = ["include[]", "limit", "offset", "total", "since", "until", "time_zone", "sort_by", "statuses[]",
              "urgencies[]", "service_ids[]", "team_ids[]", "user_ids[]", "escalation_policy_ids[]",
              "schedule_ids[]", "integration_ids[]", "date_range", "query", "incident_key", "alert_key",
              "filter", "cursor", "actor_id", "method_truncated_token", "earliest", "editable", "overflow",
              "include_next_oncall_for_user", "urgency", "statuses", "include"]
QUERY_VALUES = ["x", "-1", "0", "", "1e3", "99999999999999999999999999", str(2**63), "Nowhere/Else", "../../etc/passwd",
                "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2030-13-45T99:00:00Z", "garbage", "true", "null",
                "%", "_", "\\", NUL, "x" * 5000, "1" * 5000, "created_at:sideways", "id:asc", "all", "P" + "X" * 6,
                "UTC", "Etc/GMT+99", "+05:00", "2030-01-01", "Europe/../UTC"]


def norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


# --- PagerDuty's request examples and field names ----------------------------------------------

def _spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def _resolve(spec: dict[str, Any], node: Any, depth: int = 0) -> dict[str, Any]:
    if not isinstance(node, dict) or depth > 8:
        return {}
    if "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, list) and part.isdigit():
                target = target[int(part)]
            elif isinstance(target, dict) and part in target:
                target = target[part]
            else:
                return {}
        return _resolve(spec, target, depth + 1)
    props: dict[str, Any] = dict(node.get("properties", {}))
    for combo in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(combo, []):
            props.update(_resolve(spec, sub, depth + 1).get("properties", {}))
    return {**node, "properties": props}


def _pd_requests() -> dict[tuple[str, str], tuple[Any, list[str]]]:
    """(method, normalised path) -> (first request example, field names of the wrapped resource)."""
    spec = _spec()
    found: dict[tuple[str, str], tuple[Any, list[str]]] = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            content = op["requestBody"].get("content", {}).get("application/json", {})
            examples = [e.get("value") for e in content.get("examples", {}).values() if "value" in e]
            schema = _resolve(spec, content.get("schema", {}))
            names: set[str] = set(schema.get("properties", {}))
            for prop in list(schema.get("properties", {}).values()):
                inner = _resolve(spec, prop)
                if inner.get("type") == "array":
                    inner = _resolve(spec, inner.get("items", {}))
                names |= set(inner.get("properties", {}))
            found[(method.upper(), norm(path))] = (examples[0] if examples else None, sorted(names))
    return found


PD_REQUESTS = _pd_requests()


# --- the world the fuzz runs against -----------------------------------------------------------

def _ids_of(body: dict[str, Any], key: str) -> list[str]:
    return [item["id"] for item in body[key]]


async def build_world(h: Harness) -> dict[str, list[str]]:
    """Create one of everything through the API; returns ids by kind."""
    c, w, a = h.client, h.writer, h.auth

    async def ok(resp: httpx.Response) -> Any:
        # PagerDuty answers 201 for a POST that creates a resource, 200 for a note (its documented answer)
        creates = resp.request.method == "POST" and not resp.request.url.path.endswith("/notes")
        expected = 201 if creates else 200
        assert resp.status_code == expected, f"{resp.request.method} {resp.request.url}: {resp.text}"
        return resp.json()

    world: dict[str, list[str]] = {}
    policy = await create_policy(h, "Fuzz policy")
    world["policy"] = [policy["id"], default_policy(h)["id"]]
    user = (await ok(await c.post("/users", headers=w,
                                  json={"user": {"name": "Fuzz Target", "email": "fuzz@example.com"}})))["user"]
    world["user"] = [user["id"]]
    world["contact_method"] = [m["id"] for m in user["contact_methods"]]
    cm = (await ok(await c.post(f"/users/{user['id']}/contact_methods", headers=w, json={"contact_method": {
        "type": "phone_contact_method", "label": "Mobile", "address": "5551234567", "country_code": 1}})))
    world["contact_method"].append(cm["contact_method"]["id"])
    rules = (await ok(await c.get(f"/users/{user['id']}/notification_rules", headers=a, params={"urgency": "all"})))
    world["notification_rule"] = _ids_of(rules, "notification_rules")
    if not world["notification_rule"]:
        rule = await ok(await c.post(f"/users/{user['id']}/notification_rules", headers=w, json={"notification_rule": {
            "type": "assignment_notification_rule", "start_delay_in_minutes": 5, "urgency": "low",
            "contact_method": {"id": world["contact_method"][0], "type": "email_contact_method_reference"}}}))
        world["notification_rule"] = [rule["notification_rule"]["id"]]
    service = (await ok(await c.post("/services", headers=w, json={"service": {
        "name": "Fuzz service",
        "escalation_policy": {"id": policy["id"], "type": "escalation_policy_reference"}}})))["service"]
    world["service"] = [service["id"], h.seed.service_id or ""]
    integration = await ok(await c.post(f"/services/{service['id']}/integrations", headers=w, json={
        "integration": {"type": "events_api_v2_inbound_integration", "name": "fuzz"}}))
    world["integration"] = [integration["integration"]["id"]]
    team = (await ok(await c.post("/teams", headers=w, json={"team": {"name": "Fuzz team"}})))["team"]
    world["team"] = [team["id"]]
    schedule = (await ok(await c.post("/schedules", headers=w, json={"schedule": {
        "name": "Fuzz schedule", "time_zone": "Etc/UTC", "schedule_layers": [{
            "start": "2030-01-07T00:00:00Z", "rotation_virtual_start": "2030-01-07T00:00:00Z",
            "rotation_turn_length_seconds": 86400,
            "users": [{"user": {"id": user["id"], "type": "user_reference"}}]}]}})))
    world["schedule"] = [schedule["schedule"]["id"]]
    override = await ok(await c.post(f"/schedules/{world['schedule'][0]}/overrides", headers=w, json={"overrides": [{
        "start": "2030-02-01T00:00:00Z", "end": "2030-02-02T00:00:00Z",
        "user": {"id": user["id"], "type": "user_reference"}}]}))
    first: Any = override[0] if isinstance(override, list) else override.get("override", override)
    world["override"] = [first.get("override", first)["id"]]
    window = await ok(await c.post("/maintenance_windows", headers=w, json={"maintenance_window": {
        "type": "maintenance_window", "start_time": "2040-01-01T00:00:00Z", "end_time": "2040-01-02T00:00:00Z",
        "services": [{"id": service["id"], "type": "service_reference"}]}}))
    world["window"] = [window["maintenance_window"]["id"]]
    for n in range(6):
        assert (await h.send(h.event(dedup_key=f"fuzz-{n}"))).status_code == 202
    assert (await h.send({"routing_key": h.routing_key, "payload": {"summary": "deployed"}},
                         "/v2/change/enqueue")).status_code == 202
    await h.process()
    world["incident"] = _ids_of(await ok(await c.get("/incidents", headers=a)), "incidents")
    assert len(world["incident"]) == 6
    world["alert"] = _ids_of(await ok(await c.get(f"/incidents/{world['incident'][0]}/alerts", headers=a)), "alerts")
    note = await ok(await c.post(f"/incidents/{world['incident'][0]}/notes", headers=w,
                                 json={"note": {"content": "n"}}))
    world["note"] = [note["note"]["id"]]
    world["log_entry"] = _ids_of(await ok(await c.get("/log_entries", headers=a)), "log_entries")[:2]
    world["change_event"] = _ids_of(await ok(await c.get("/change_events", headers=a)), "change_events")
    world["priority"] = _ids_of(await ok(await c.get("/priorities", headers=a)), "priorities")[:2]
    world["api_key"] = _ids_of(await ok(await c.get("/api_keys", headers=a)), "api_keys")[:1]
    client = await ok(await c.post("/oauth_clients", headers=w,
                                   json={"oauth_client": {"name": "fuzz", "scopes": ["incidents.read"]}}))
    world["oauth_client"] = [client["oauth_client"]["id"]]
    world["ability"] = list((await ok(await c.get("/abilities", headers=a)))["abilities"])[:1]
    # Disabled, so it restricts nothing; a fuzzed change that would lock the fuzzer out (it connects
    # as 127.0.0.1) is refused by the self-lockout rule, since writes get no force=true.
    allow_list = await ok(await c.post("/ip_allow_lists", headers=w, json={"ip_allow_list": {
        "state": "disabled", "cidr_entries": [{"cidr": "10.0.0.0/8", "description": "fuzz"}]}}))
    world["ip_allow_list"] = [allow_list["ip_allow_list"]["id"]]
    # PagerDuty answers 200 to a webhook subscription's creation, 202 to its ping (nothing is sent:
    # no engine runs here).
    hook = await c.post("/webhook_subscriptions", headers=w, json={"webhook_subscription": {
        "type": "webhook_subscription", "events": ["incident.triggered"], "filter": {"type": "account_reference"},
        "delivery_method": {"type": "http_delivery_method", "url": "http://127.0.0.1:9/fuzz"}}})
    assert hook.status_code == 200, hook.text
    world["webhook_subscription"] = [hook.json()["webhook_subscription"]["id"]]
    ping = await c.post(f"/webhook_subscriptions/{world['webhook_subscription'][0]}/ping", headers=w)
    assert ping.status_code == 202, ping.text
    world["delivery"] = [ping.json()["webhook_delivery"]["id"]]
    forwarder = await ok(await c.post(f"/services/{world['service'][0]}/forwarders", headers=w, json={"forwarder": {
        "integration_key": "fuzzkey", "url": "http://127.0.0.1:9/v2/enqueue"}}))
    world["forwarder"] = [forwarder["forwarder"]["id"]]
    chat = await ok(await c.post(f"/services/{world['service'][0]}/chat_webhooks", headers=w, json={"chat_webhook": {
        "url": "http://127.0.0.1:9/chat"}}))
    world["chat_webhook"] = [chat["chat_webhook"]["id"]]
    assert all(world.values()), {k: v for k, v in world.items() if not v}
    return world


async def open_harness(db_url: str) -> tuple[Harness, Any]:
    settings_ = make_settings(db_url)
    seed = await initialise(settings_)
    tocsin = Tocsin(settings_, start_worker=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=tocsin), base_url="http://tocsin.test")
    return Harness(tocsin, client, seed, db_url), client


async def close_harness(h: Harness) -> None:
    await h.client.aclose()
    await h.tocsin.committer.close()
    await h.tocsin.db.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
                ) -> AsyncIterator[tuple[Harness, dict[str, list[str]]]]:
    target = tmp_path_factory.mktemp("fuzz") / "tocsin.db"
    shutil.copy(sqlite_template, target)
    h, _ = await open_harness(f"sqlite:///{target}")
    ids = await build_world(h)
    yield h, ids
    await close_harness(h)


# --- routes ------------------------------------------------------------------------------------

def _routes() -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    app = Tocsin(make_settings("sqlite:///:memory:"), start_worker=False)
    found = rest_routes(app.rest)
    return [(m, p) for m, p, _ in found], {(m, p) for m, p, d in found if not d.body_params}


ROUTES, BODYLESS = _routes()
GET_ROUTES = [(m, p) for m, p in ROUTES if m == "GET"]
WRITE_ROUTES = [(m, p) for m, p in ROUTES if m in ("POST", "PUT")]
DELETE_ROUTES = [(m, p) for m, p in ROUTES if m == "DELETE"]


def params_of(path: str) -> list[tuple[str, str]]:
    """(placeholder, kind) for each path parameter."""
    segments = path.strip("/").split("/")
    out = []
    for i, seg in enumerate(segments):
        if seg.startswith("{"):
            out.append((seg, SEGMENT_KIND.get(segments[i - 1], "unknown") if i else "unknown"))
    return out


def path_strategy(path: str, ids: dict[str, list[str]], existing_only: bool = False,
                  garbage_only: bool = False) -> st.SearchStrategy[str]:
    params = params_of(path)
    if not params:
        return st.just(path)

    def fill(kind: str) -> st.SearchStrategy[str]:
        real = st.sampled_from(ids.get(kind) or ["PNOSUCH1"])
        bad = st.one_of(st.sampled_from(GARBAGE_IDS),
                        # no "/": %2F is decoded into the path, which then names another route
                        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/"),
                                min_size=1, max_size=20)
                        .map(lambda t: quote(t, safe="")))
        if existing_only:
            return real
        if garbage_only:
            return bad
        return st.one_of(real, real, bad)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        url = path
        for placeholder, kind in params:
            url = url.replace(placeholder, draw(fill(kind)), 1)
        return url

    return build()


# --- bodies ------------------------------------------------------------------------------------

def _kind_of_type(type_name: Any) -> str | None:
    if not isinstance(type_name, str):
        return None
    base = type_name.removesuffix("_reference")
    if base.endswith("contact_method"):
        return "contact_method"
    if base.endswith("integration"):
        return "integration"
    return {"escalation_policy": "policy", "maintenance_window": "window"}.get(base, base)


def point_at_world(example: Any, ids: dict[str, list[str]]) -> Any:
    """A copy of ``example`` whose references name rows that exist."""
    counters: dict[str, int] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        kind = _kind_of_type(node.get("type"))
        if "id" in node and kind in ids:
            n = counters.get(kind, 1)  # from the second row: the first is the one in the URL
            counters[kind] = n + 1
            out["id"] = ids[kind][n % len(ids[kind])]
        for key in ("start_time", "end_time"):  # PagerDuty's example windows are long past
            if isinstance(out.get(key), str):
                out[key] = re.sub(r"^20\d\d-", "2040-", out[key])
        return out

    return walk(copy.deepcopy(example))


def example_for(method: str, path: str, ids: dict[str, list[str]]) -> tuple[Any, list[str]]:
    key = (method, norm(path))
    example, names = PD_REQUESTS.get(key, (None, []))
    if key in LOCAL_EXAMPLES:
        example = LOCAL_EXAMPLES[key]
    if example is None:
        example = {}
    return point_at_world(example, ids), names


def leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in ``node`` (containers included), root excluded."""
    found = []
    if isinstance(node, dict):
        items: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return []
    for k, v in items:
        found.append((*prefix, k))
        found.extend(leaf_paths(v, (*prefix, k)))
    return found


def get_at(node: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        node = node[k]
    return node


def set_at(node: Any, path: tuple[Any, ...], value: Any) -> None:
    get_at(node, path[:-1])[path[-1]] = value


def delete_at(node: Any, path: tuple[Any, ...]) -> None:
    del get_at(node, path[:-1])[path[-1]]


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE_INTS), st.floats(),
    st.text(max_size=20), st.sampled_from(["", NUL, "x" * 70_000, "\u202e\ufeff", "9999-99-99T99:99:99Z",
                                           "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "P" * 7,
                                           "Nowhere/Else", "-1", "1e309"]),
)
garbage = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=8)


class Raw(bytes):
    """A body sent as these bytes, not JSON-encoded."""


RAW_BODIES = [Raw(b"[" * 50_000 + b"]" * 50_000), Raw(b'{"a":' * 50_000 + b"1" + b"}" * 50_000), Raw(b"{not json"),
              Raw(b""), Raw(b"\xff\xfe\x00"), Raw(b'"\\ud800"'), Raw(b"1" * 5000), Raw(b"NaN"),
              Raw(b'{"x": 1, "x": 2}')]


def deep(depth: int) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = {"a": [node]}
    return node


@st.composite
def bad_body(draw: st.DrawFn, example: Any, names: list[str]) -> Any:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(garbage)  # whole body of the wrong shape
    if choice == 1:
        return draw(st.sampled_from(RAW_BODIES))
    body = copy.deepcopy(example)
    wrapper = next(iter(body), None) if isinstance(body, dict) else None
    if choice == 2 and wrapper is not None:
        body[wrapper] = draw(st.one_of(garbage, st.just(deep(300))))
        return body
    if choice == 3 and names:
        target = body[wrapper] if wrapper is not None and isinstance(body.get(wrapper), dict) else body
        if isinstance(target, list) and target and isinstance(target[0], dict):
            target = target[0]
        if isinstance(target, dict):
            target[draw(st.sampled_from(names))] = draw(garbage)
            return body
    locations = leaf_paths(body)
    if not locations:
        return draw(garbage)
    for _ in range(draw(st.integers(1, 3))):
        locations = leaf_paths(body)
        if not locations:
            break
        where = draw(st.sampled_from(locations))
        if draw(st.integers(0, 4)) == 0:
            delete_at(body, where)
        else:
            set_at(body, where, draw(garbage))
    return body


def encode(body: Any) -> bytes:
    if isinstance(body, Raw):
        return bytes(body)
    return json.dumps(body, allow_nan=True).encode()


# --- checks ------------------------------------------------------------------------------------

async def send(h: Harness, method: str, url: str, *, body: Any = None, params: Any = None) -> tuple[int, Any, str]:
    """(status, parsed body or None, text or traceback). An exception escaping the app is a 500."""
    headers = dict(h.writer)
    content = None
    if method in ("POST", "PUT"):
        headers["Content-Type"] = "application/json"
        content = encode(body)
    try:
        r = await h.client.request(method, url, headers=headers, content=content, params=params)
    except Exception:  # noqa: BLE001 - whatever the app raises is a finding, reported as a 500
        return 500, None, traceback.format_exc()
    try:
        parsed = r.json() if r.content else None
    except ValueError:
        parsed = None
    return r.status_code, parsed, r.text[:500]


def problem(method: str, path: str, status: int, parsed: Any, text_: str) -> str | None:
    if status >= 500:
        return f"{status}: {text_}"
    if status < 400:
        return None
    if path == "/users/me" and status == 400 and isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return None  # PagerDuty's plain-string answer for an account-level credential
    if not isinstance(parsed, dict) or set(parsed) != {"error"} or not isinstance(parsed["error"], dict):
        return f"{status} not PagerDuty's error shape: {text_}"
    error = parsed["error"]
    if set(error) != {"message", "code", "errors"}:
        return f"{status} error keys {sorted(error)}: {text_}"
    if not (isinstance(error["message"], str) and error["message"]):
        return f"{status} empty message: {text_}"
    if not isinstance(error["errors"], list) or not all(isinstance(e, str) for e in error["errors"]):
        return f"{status} errors is not a list of strings: {text_}"
    if error["code"] not in PD_ERROR_CODES:
        return f"{status} unknown code {error['code']!r}: {text_}"
    if status == 404 and error["code"] != 2100:
        return f"404 with code {error['code']}: {text_}"
    if status == 400 and error["code"] in (2000, 2100, 2006, 2010, 2020):
        return f"400 with code {error['code']}: {text_}"
    return None


async def row_counts(h: Harness) -> dict[str, int]:
    from tocsin.migrations.models import metadata

    names = sorted({t.name for t in metadata.sorted_tables})
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {n})" for n in names)
    async with h.tocsin.db.transaction() as session:
        row = (await session.execute(text(sql))).one()
    return dict(zip(names, row, strict=True))


def describe(method: str, url: str, body: Any = None, params: Any = None) -> str:
    shown = repr(bytes(body)[:80]) + "..." if isinstance(body, Raw) else json.dumps(body, allow_nan=True)[:300]
    return f"{method} {url[:120]} params={params!r:.200} body={shown}"


def stable(resource: Any) -> Any:
    if isinstance(resource, dict):
        return {k: stable(v) for k, v in resource.items() if k not in ("final_schedule", "overrides_subschedule")}
    return resource


async def check_write(h: Harness, method: str, path: str, url: str, body: Any) -> list[str]:
    """Send one bad write; a rejection must leave every table's row count, and the resource, as they were."""
    twin = ("GET", path) in ROUTES and method == "PUT"
    before_counts = await row_counts(h)
    before = (await h.client.get(url, headers=h.auth)) if twin else None
    status, parsed, text_ = await send(h, method, url, body=body)
    found = []
    if (p := problem(method, path, status, parsed, text_)) is not None:
        found.append(f"{describe(method, url, body)} -> {p}")
    if 400 <= status < 500:
        after_counts = await row_counts(h)
        changed = {t: (before_counts[t], after_counts[t]) for t in before_counts if before_counts[t] != after_counts[t]}
        if changed:
            found.append(f"{describe(method, url, body)} -> {status} but rows changed {changed}")
        if before is not None and before.status_code == 200:
            after = await h.client.get(url, headers=h.auth)
            if stable(after.json()) != stable(before.json()):
                found.append(f"{describe(method, url, body)} -> {status} but {url} changed:\n"
                             f"{before.text[:400]}\n{after.text[:400]}")
    return found


# --- the fuzz tests (SQLite, one app per module) -----------------------------------------------

@pytest.mark.asyncio(loop_scope="module")
async def test_the_walk_covers_the_api(world: tuple[Harness, dict[str, list[str]]]) -> None:
    _, ids = world
    assert len(WRITE_ROUTES) >= 30 and len(GET_ROUTES) >= 45, (len(WRITE_ROUTES), len(GET_ROUTES))
    unknown = [p for _, p in ROUTES for _, kind in params_of(p) if kind not in ids]
    assert unknown == [], f"path parameters this file cannot fill with a real id: {unknown}"
    missing = [r for r in WRITE_ROUTES if not example_for(*r, ids)[0] and r not in BODYLESS]
    assert missing == [], f"write routes with no example body to mutate: {missing}"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES, ids=[f"{m} {p}" for m, p in WRITE_ROUTES])
@FUZZ
@given(data=st.data())
async def test_bad_bodies_never_500_and_write_nothing(world: tuple[Harness, dict[str, list[str]]], method: str,
                                                       path: str, data: st.DataObject) -> None:
    h, ids = world
    example, names = example_for(method, path, ids)
    url = data.draw(path_strategy(path, ids), label="url")
    body = data.draw(bad_body(example, names), label="body")
    found = await check_write(h, method, path, url, body)
    assert found == [], "\n".join(found)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("method", "path"), GET_ROUTES, ids=[f"{m} {p}" for m, p in GET_ROUTES])
@FUZZ
@given(data=st.data())
async def test_garbage_queries_never_500(world: tuple[Harness, dict[str, list[str]]], method: str, path: str,
                                         data: st.DataObject) -> None:
    h, ids = world
    url = data.draw(path_strategy(path, ids), label="url")
    params = data.draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS),
                                          st.one_of(st.sampled_from(QUERY_VALUES), st.text(max_size=12))),
                                max_size=6), label="params")
    status, parsed, text_ = await send(h, method, url, params=params)
    p = problem(method, path, status, parsed, text_)
    assert p is None, f"{describe(method, url, params=params)} -> {p}"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("method", "path"), DELETE_ROUTES, ids=[f"{m} {p}" for m, p in DELETE_ROUTES])
@settings(FUZZ, max_examples=10)
@given(data=st.data())
async def test_deletes_of_garbage_ids_never_500(world: tuple[Harness, dict[str, list[str]]], method: str, path: str,
                                                 data: st.DataObject) -> None:
    h, ids = world
    url = data.draw(path_strategy(path, ids, garbage_only=True), label="url")
    before = await row_counts(h)
    status, parsed, text_ = await send(h, method, url)
    p = problem(method, path, status, parsed, text_)
    assert p is None, f"{describe(method, url)} -> {p}"
    assert status >= 400, f"{describe(method, url)} -> {status}: a garbage id was deleted"
    assert await row_counts(h) == before


# --- deterministic: NUL characters and out-of-range integers, on SQLite and PostgreSQL ----------

def poisoned_bodies(example: Any) -> list[tuple[str, Any]]:
    """One body per string leaf carrying a NUL, and per integer leaf carrying each huge integer."""
    out = []
    for where in leaf_paths(example):
        value = get_at(example, where)
        if isinstance(value, str):
            body = copy.deepcopy(example)
            set_at(body, where, value + NUL)
            out.append((f"NUL at {where}", body))
        elif isinstance(value, int) and not isinstance(value, bool):
            for huge in (2**31, 2**63):
                body = copy.deepcopy(example)
                set_at(body, where, huge)
                out.append((f"{huge} at {where}", body))
    return out


async def test_nul_and_huge_integers_in_every_field_never_500(harness: Harness) -> None:
    h = harness
    ids = await build_world(h)
    failures: list[str] = []
    for method, path in WRITE_ROUTES:
        example, _ = example_for(method, path, ids)
        url = path
        for placeholder, kind in params_of(path):
            url = url.replace(placeholder, ids[kind][0], 1)
        for label, body in poisoned_bodies(example):
            failures += [f"[{label}] {f}" for f in await check_write(h, method, path, url, body)]
    for method, path in GET_ROUTES:
        url = path
        for placeholder, kind in params_of(path):
            url = url.replace(placeholder, ids[kind][0], 1)
        for params in ({"limit": str(2**63)}, {"offset": str(2**63)}, {"query": NUL}, {"since": NUL},
                       {"include[]": NUL}, {"service_ids[]": NUL}, {"user_ids[]": "P" + NUL},
                       {"incident_key": NUL}, {"time_zone": NUL}, {"cursor": NUL}, {"actor_id": NUL}):
            status, parsed, text_ = await send(h, method, url, params=params)
            if (p := problem(method, path, status, parsed, text_)) is not None:
                failures.append(f"{describe(method, url, params=params)} -> {p}")
    assert failures == [], "\n".join(failures)


# --- what the fuzz found ------------------------------------------------------------------------

ALL_WEEK = {"type": "fixed_time_per_day", "time_zone": "UTC", "days_of_week": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00:00", "end_time": "23:59:59"}
SUPPORT_RULE = {"type": "use_support_hours", "during_support_hours": {"type": "constant", "urgency": "low"},
                "outside_support_hours": {"type": "constant", "urgency": "high"}}


@pytest.mark.parametrize(("field", "change"), [
    ("support_hours.time_zone", {"support_hours": {**ALL_WEEK, "time_zone": "Nowhere/Else"}}),
    ("support_hours.days_of_week", {"support_hours": {**ALL_WEEK, "days_of_week": [0, 8]}}),
    ("incident_urgency_rule.during_support_hours",
     {"incident_urgency_rule": {**SUPPORT_RULE, "during_support_hours": {"type": "constant", "urgency": "bogus"}}}),
    ("incident_urgency_rule.outside_support_hours",
     {"incident_urgency_rule": {**SUPPORT_RULE, "outside_support_hours": {"type": 7, "x": 2**64}}}),
])
async def test_service_urgency_rules_that_would_break_ingest_are_a_400(harness: Harness, field: str,
                                                                       change: dict[str, Any]) -> None:
    """Found by the fuzz: these were stored (or a 500 for the huge integer), after which every event
    of the service failed in the processor (an unknown zone) and nobody was paged."""
    h = harness
    body = {"service": {"incident_urgency_rule": SUPPORT_RULE, "support_hours": ALL_WEEK, **change}}
    r = await h.client.put(f"/services/{h.seed.service_id}", headers=h.writer, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == 2001 and any(field in e for e in error["errors"]), error
    assert (await h.send(h.event())).status_code == 202
    await h.process()
    incidents = (await h.client.get("/incidents", headers=h.auth)).json()["incidents"]
    assert [i["urgency"] for i in incidents] == ["high"]  # the default rule still applies


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT-14", "Eastern Time (US & Canada)"])
async def test_support_hours_in_any_accepted_zone_still_page(harness: Harness, zone: str) -> None:
    """PagerDuty names zones the ActiveSupport way too; an accepted zone must work at ingest."""
    h = harness
    body = {"service": {"incident_urgency_rule": SUPPORT_RULE, "support_hours": {**ALL_WEEK, "time_zone": zone}}}
    r = await h.client.put(f"/services/{h.seed.service_id}", headers=h.writer, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["service"]["support_hours"]["time_zone"] == zone
    assert (await h.send(h.event())).status_code == 202
    await h.process()
    incidents = (await h.client.get("/incidents", headers=h.auth)).json()["incidents"]
    assert len(incidents) == 1, "the event opened no incident"
    assert incidents[0]["urgency"] in ("low", "high")


@pytest.mark.parametrize("raw", RAW_BODIES, ids=lambda r: repr(bytes(r)[:12]))
async def test_unparseable_bodies_are_a_400_invalid_input(harness: Harness, raw: Raw) -> None:
    """Found by the fuzz: bodies the JSON parser gives up on (deep nesting, bad UTF-8, a number
    longer than Python converts) were answered with code 2000 and no errors; PagerDuty's code for
    input it cannot use is 2001."""
    r = await harness.client.post("/services", headers={**harness.writer, "Content-Type": "application/json"},
                                  content=bytes(raw))
    error = r.json().get("error") if r.status_code == 400 else None
    assert r.status_code == 400 and isinstance(error, dict), r.text
    assert error["code"] == 2001 and error["errors"], error
