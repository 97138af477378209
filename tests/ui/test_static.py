"""What the UI ships to browsers: pinned JavaScript with its licences, within 100 KB, served by
Tocsin itself; cookies are Secure behind an https public URL."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.conftest import Harness, make_settings
from tocsin.api.app import Tocsin

STATIC = Path(__file__).resolve().parents[2] / "tocsin" / "ui" / "static"


def test_the_javascript_shipped_stays_under_100_kb_and_has_its_licences() -> None:
    scripts = sorted(STATIC.rglob("*.js"))
    assert {p.name for p in scripts} == {"tocsin.js", "htmx-2.0.11.min.js", "htmx-ext-sse-2.2.4.min.js"}
    assert sum(p.stat().st_size for p in scripts) <= 100 * 1024  # 57,785 bytes (18.5 KB gzipped) today
    # ... and no page loads any other script: every <script> of every template is one of these files.
    templates = STATIC.parent / "templates"
    tags = [tag for t in templates.rglob("*.html") for tag in re.findall(r"<script[^>]*>", t.read_text())]
    assert tags and all(re.fullmatch(r'<script src="/ui/static/([\w./-]+)" defer>', tag) for tag in tags), tags
    assert {tag.split('"')[1].rsplit("/", 1)[1] for tag in tags} == {p.name for p in scripts}
    for licence in ("htmx.LICENSE", "htmx-ext-sse.LICENSE"):
        assert "Permission to use, copy, modify" in (STATIC / "vendor" / licence).read_text()


async def test_pages_load_only_local_scripts_and_static_files_are_served(harness: Harness) -> None:
    page = await harness.client.get("/")
    for src in ("/ui/static/vendor/htmx-2.0.11.min.js", "/ui/static/vendor/htmx-ext-sse-2.2.4.min.js",
                "/ui/static/tocsin.js", "/ui/static/tocsin.css"):
        assert src in page.text
        r = await harness.client.get(src)
        assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    assert "http://" not in page.text.split("<body>")[0] and "https://" not in page.text.split("<body>")[0]
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_cookies_are_secure_behind_an_https_public_url(db_url: str) -> None:
    tocsin = Tocsin(make_settings(db_url, public_url="https://tocsin.example"), start_worker=False,
                    start_engine=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=tocsin), base_url="https://tocsin.example") as c:
            r = await c.get("/")
        assert r.status_code == 200 and "; secure" in r.headers["set-cookie"].lower()
    finally:
        await tocsin.committer.close()
        await tocsin.db.dispose()
