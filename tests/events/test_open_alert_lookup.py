"""The processor finds the open alerts of a batch's (integration, dedup key) pairs with IN lists of
integrations and keys (an index search on SQLite, where a list of pairs scanned every open alert):
the lookup covers every pair within its bounds, and a combination no event asked about (one
integration's key under another) is never taken for an open alert."""

from __future__ import annotations

from itertools import product

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import Harness
from tocsin.incidents.ingest import MAX_KEYS, MAX_PROBES, _read_open_alerts, lookup_chunks
from tocsin.incidents.models import Alert


def _pairs(chunks: list[tuple[list[str], list[str]]]) -> set[tuple[str, str]]:
    return {pair for integrations, keys in chunks for pair in product(integrations, keys)}


def test_one_integrations_keys_are_one_lookup() -> None:
    keys = {("PINT", f"key-{n}") for n in range(100)}
    assert lookup_chunks(keys) == [(["PINT"], sorted(k for _, k in keys))]


def test_many_integrations_with_a_key_each_share_a_few_bounded_lookups() -> None:
    keys = {(f"PINT{n:03}", f"key-{n}") for n in range(200)}
    chunks = lookup_chunks(keys)
    assert 1 < len(chunks) < 20
    assert all(len(i) * len(k) <= MAX_PROBES for i, k in chunks)
    assert keys <= _pairs(chunks)


def test_an_integration_with_more_keys_than_a_lookup_takes_is_split() -> None:
    keys = {("PINT", f"key-{n:04}") for n in range(MAX_KEYS * 2 + 1)}
    chunks = lookup_chunks(keys)
    assert [len(k) for _, k in chunks] == [MAX_KEYS, MAX_KEYS, 1]
    assert _pairs(chunks) == keys


@given(st.sets(st.tuples(st.sampled_from([f"PINT{n}" for n in range(40)]),
                         st.text("abcdef", min_size=1, max_size=3)), max_size=600))
def test_every_pair_is_looked_up_within_the_bounds(keys: set[tuple[str, str]]) -> None:
    chunks = lookup_chunks(keys)
    assert keys <= _pairs(chunks)
    assert all(integrations and dedup_keys for integrations, dedup_keys in chunks)
    assert all(len(k) <= MAX_KEYS and len(i) * len(k) <= max(MAX_PROBES, len(k)) for i, k in chunks)
    assert not keys or all(any((i, k) in keys for i, k in product(*chunk)) for chunk in chunks)


async def _integration_key(h: Harness) -> str:
    r = await h.client.post(f"/services/{h.seed.service_id}/integrations", headers=h.writer,
                            json={"integration": {"type": "events_api_v2_inbound_integration"}})
    assert r.status_code == 201, r.text
    return str(r.json()["integration"]["integration_key"])


async def _incident_numbers_by_key(h: Harness) -> dict[str, list[int]]:
    listed = (await h.client.get("/incidents", params={"limit": 100}, headers=h.auth)).json()["incidents"]
    found: dict[str, list[int]] = {}
    for incident in listed:
        found.setdefault(incident["incident_key"], []).append(incident["incident_number"])
    return found


async def test_an_integration_dedups_only_against_its_own_open_keys(harness: Harness) -> None:
    h = harness
    other = await _integration_key(h)
    await h.send(h.event(dedup_key="disk"))
    await h.send({**h.event(dedup_key="cpu"), "routing_key": other})
    assert await h.process() == 2
    # One batch: each integration re-triggers its own key (deduplicated) and sends the other's
    # key (new: another integration's open alert is no match).
    await h.send(h.event(dedup_key="disk"))
    await h.send(h.event(dedup_key="cpu"))
    await h.send({**h.event(dedup_key="cpu"), "routing_key": other})
    await h.send({**h.event(dedup_key="disk"), "routing_key": other})
    assert await h.process() == 4
    numbers = await _incident_numbers_by_key(h)
    assert {key: len(found) for key, found in numbers.items()} == {"disk": 2, "cpu": 2}
    async with h.tocsin.db.transaction() as session:
        pairs = (await session.execute(select(Alert.integration_id, Alert.dedup_key))).all()
    assert len(pairs) == len(set(pairs)) == 4  # the re-triggers added no alert


async def test_the_lookup_answers_only_the_pairs_asked(harness: Harness) -> None:
    """Integrations and keys are looked up crosswise; an open alert of a combination nobody asked
    about is left out (on PostgreSQL its incident would be locked for nothing)."""
    h = harness
    other = await _integration_key(h)
    for key, routing_key in (("disk", h.routing_key), ("cpu", h.routing_key), ("cpu", other)):
        await h.send({**h.event(dedup_key=key), "routing_key": routing_key})
    assert await h.process() == 3
    async with h.tocsin.db.transaction() as session:
        stored = set((await session.execute(select(Alert.integration_id, Alert.dedup_key))).all())
        mine = next(i for i, key in stored if key == "disk")
        theirs = next(i for i in {i for i, _ in stored} if i != mine)
        asked = {(mine, "disk"), (theirs, "cpu")}  # not (mine, "cpu"), open too
        assert (mine, "cpu") in stored and asked <= stored
        found = await session.run_sync(lambda s: _read_open_alerts(s, asked))
    assert set(found) == asked
