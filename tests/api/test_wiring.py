"""The domains' collaborators are typed, required and built once (``tocsin.http.wiring``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import Harness, make_settings
from tests.helpers import assert_error
from tocsin.db.session import Database
from tocsin.http.runtime import Runtime
from tocsin.http.wiring import Wiring


def test_a_runtime_cannot_be_built_without_its_wiring(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(TypeError, match="wiring"):
        Runtime(settings=settings, db=Database(settings.database_url))  # type: ignore[call-arg]  # the point


def test_every_collaborator_is_required() -> None:
    fields = dataclasses.fields(Wiring)
    assert {f.name for f in fields} >= {"authenticator", "team_directory", "services_using_policies",
                                        "policies_using_schedule", "policies_using_user", "forget_routing_key"}
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields)
    with pytest.raises(TypeError):
        Wiring()  # type: ignore[call-arg]  # missing arguments are the point


async def test_one_authenticator_serves_the_gate_and_the_routes(harness: Harness) -> None:
    assert harness.tocsin._rest_entry.authenticator is harness.tocsin.runtime.wiring.authenticator


async def test_a_revoked_key_is_refused_at_once_by_the_same_process(harness: Harness) -> None:
    created = await harness.client.post("/api_keys", headers=harness.writer,
                                        json={"api_key": {"type": "account", "description": "short-lived"}})
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    auth = {"Authorization": f"Token token={key['token']}"}
    assert (await harness.client.get("/services", headers=auth)).status_code == 200  # now cached
    revoked = await harness.client.delete(f"/api_keys/{key['id']}", headers=harness.writer)
    assert revoked.status_code == 204, revoked.text
    assert_error(await harness.client.get("/services", headers=auth), 401, 2006)
