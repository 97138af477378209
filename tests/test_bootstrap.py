"""`tocsin init` is idempotent; configuration comes from TOCSIN_* variables or a file; plain
database URLs get the async drivers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from tocsin.api.app import Tocsin
from tocsin.auth.models import ApiKey
from tocsin.bootstrap import initialise
from tocsin.config import Settings
from tocsin.db.engine import async_url
from tocsin.db.session import Database

ID = re.compile(r"^P[A-Z0-9]{6,13}$")


async def test_only_the_first_init_issues_a_key_and_it_works(db_url: str) -> None:
    settings = make_settings(db_url)
    first, second = await initialise(settings), await initialise(settings)
    assert (first.admin_email, first.service_id, first.integration_key) == (
        second.admin_email, second.service_id, second.integration_key)
    assert ID.match(first.service_id or "") and re.fullmatch(r"[0-9a-f]{32}", first.integration_key or "")
    assert first.api_key is not None and len(first.api_key) == 20
    assert second.api_key is None  # a re-run mints no full-access key
    db = Database(db_url)
    async with db.transaction() as session:
        stored = [k.token_hash for k in (await session.execute(select(ApiKey))).scalars()]
    await db.dispose()
    assert len(stored) == 1 and first.api_key not in stored  # one key, stored hashed
    app = Tocsin(settings, start_worker=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tocsin.test") as client:
            r = await client.get("/services", headers={"Authorization": f"Token token={first.api_key}"})
        assert r.status_code == 200 and [s["id"] for s in r.json()["services"]] == [first.service_id]
    finally:
        await app.committer.close()
        await app.db.dispose()


def test_init_prints_the_key_once_then_says_how_to_make_another(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    run = [sys.executable, "-m", "tocsin", "init"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    second = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    assert re.search(r"^API key: +\S{20} +\(shown once; stored hashed\)$", first, re.M), first
    assert "API key:          none issued" in second and "tocsin api-key create" in second, second
    key = re.search(r"^API key: +(\S{20})", first, re.M)
    assert key is not None and key.group(1) not in second


def test_init_json_from_the_command_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
           "TOCSIN_PUBLIC_URL": "https://tocsin.example"}
    out = subprocess.run([sys.executable, "-m", "tocsin", "init", "--json"], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    result = json.loads(out)
    assert set(result) == {"url", "api_key", "admin_email", "service_id", "integration_key", "escalation_policy_id"}
    assert result["url"] == "https://tocsin.example"


def test_config_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text('[tocsin]\nport = 9999\nevents_rate_limit = 120\n')
    monkeypatch.setenv("TOCSIN_CONFIG_FILE", str(config))
    monkeypatch.setenv("TOCSIN_PORT", "8181")
    settings = Settings()
    assert (settings.port, settings.events_rate_limit) == (8181, 120)


@pytest.mark.parametrize(("given", "expected"), [
    ("sqlite:///tocsin.db", "sqlite+aiosqlite:///tocsin.db"),
    ("postgresql://tocsin@db/tocsin", "postgresql+asyncpg://tocsin@db/tocsin"),
    ("postgres://tocsin@db/tocsin", "postgresql+asyncpg://tocsin@db/tocsin"),
])
def test_plain_database_urls_get_async_drivers(given: str, expected: str) -> None:
    assert async_url(given) == expected


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        async_url("mysql://root@localhost/tocsin")
