"""/docs and /redoc work at an air-gapped site: every asset they load is served by Tocsin."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Harness

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_no_outside_host_and_their_assets_are_served(harness: Harness, page: str) -> None:
    answer = await harness.client.get(page)
    assert answer.status_code == 200, answer.text[:300]
    html = answer.text
    assert "http://" not in html and "https://" not in html and "//" + "cdn" not in html, html
    referenced = [a or b for a, b in ASSET.findall(html)]
    assets = [url for url in referenced if url.startswith("/docs/assets/")]
    assert len(assets) >= 2, referenced  # the script and the favicon (and Swagger UI's CSS)
    for url in assets:
        served = await harness.client.get(url)  # no credentials: the pages are public
        assert served.status_code == 200, url
        assert len(served.content) > 1000, url
    assert "/openapi.json" in referenced or "'/openapi.json'" in html or '"/openapi.json"' in html


@pytest.mark.parametrize(
    "path", ["/docs/assets/nothing.js", "/docs/assets/..%2Fcore.py", "/docs/assets/%2e%2e/core.py"])
async def test_only_the_asset_folder_is_served(harness: Harness, path: str) -> None:
    answer = await harness.client.get(path)
    assert answer.status_code == 404, answer.text[:200]
