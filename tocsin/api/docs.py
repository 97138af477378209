"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served with no outside host.

FastAPI's own pages load their JavaScript, CSS and fonts from public CDNs, which fail at
air-gapped sites. The same files come pinned from PyPI (the ``fastapi-offline`` package; we use
only its ``static`` folder: Swagger UI under Apache-2.0, ReDoc under MIT, as its licence file
says) and are served under ``/docs/assets``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


def _is_cdn_page(route: BaseRoute) -> bool:
    return getattr(route, "path", None) in DOCS_PATHS


def install(app: FastAPI) -> None:
    """Replace FastAPI's CDN-loading documentation pages with ones served from the package."""
    app.router.routes[:] = [r for r in app.router.routes if not _is_cdn_page(r)]
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{ASSETS_PATH}/favicon.png"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css", swagger_favicon_url=favicon,
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url, title=f"{app.title} - ReDoc", redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=favicon, with_google_fonts=False,
        )

    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
