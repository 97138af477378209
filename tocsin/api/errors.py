"""Where every failure becomes PagerDuty's wire error: ``{"error": {"message", "code", "errors"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException

from tocsin.errors import TocsinError

log = logging.getLogger(__name__)


def error_body(message: str, code: int, errors: list[str]) -> dict[str, Any]:
    return {"error": {"message": message, "code": code, "errors": errors}}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_message(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON"
    return f"{_field(tuple(err.get('loc', ())))}: {err.get('msg', 'is invalid')}"


_INTEGRITY_MESSAGES = {
    # Every route checks uniqueness before writing, so a unique violation means a concurrent
    # request wrote the same value first (two creates with one email).
    "unique": "The change conflicts with one made at the same moment (a value that must be unique is "
              "already taken); nothing was written",
    # Routes check references too, so a foreign-key violation means what the change refers to
    # was removed by a concurrent request.
    "foreign_key": "The change refers to something that no longer exists (removed at the same moment); "
                   "nothing was written",
    "other": "The change breaks a rule of the stored data; nothing was written",
}


def integrity_kind(exc: IntegrityError) -> str:
    """``unique``, ``foreign_key`` or ``other``: PostgreSQL by SQLSTATE (23505, 23503) on the
    driver's exception, SQLite by its extended error name or message."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code == "23505":
        return "unique"
    if code == "23503":
        return "foreign_key"
    text = f"{getattr(orig, 'sqlite_errorname', '')} {orig}".upper()
    if "UNIQUE" in text:
        return "unique"
    if "FOREIGN" in text:
        return "foreign_key"
    return "other"


def install(app: FastAPI) -> None:
    @app.exception_handler(TocsinError)
    async def _tocsin(_: Request, exc: TocsinError) -> JSONResponse:
        if getattr(exc, "plain", False):  # the few answers PagerDuty gives as {"error": "<text>"}
            return JSONResponse({"error": exc.message}, status_code=exc.status_code)
        return JSONResponse(error_body(exc.message, exc.code, exc.errors), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_validation_message(e) for e in exc.errors()]
        return JSONResponse(error_body("Invalid Input Provided", 2001, errors), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {400: 2001, 404: 2100, 405: 2000, 401: 2006, 403: 2010}.get(exc.status_code, 2000)
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        errors: list[str] = []
        if exc.status_code == 400:  # e.g. a body the JSON parser gave up on: PagerDuty's invalid input
            message, errors = "Invalid Input Provided", [str(exc.detail)]
        return JSONResponse(error_body(message, code, errors), status_code=exc.status_code,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        # Input the database cannot store (NUL characters in text) is the client's error.
        if "0x00" in str(exc) or "\\u0000" in str(exc):
            return JSONResponse(error_body("Invalid Input Provided", 2001,
                                           ["NUL characters are not allowed in text fields"]), status_code=400)
        # A constraint the route's own checks could not foresee (a concurrent change): the
        # transaction rolled back whole, and the client may retry.
        if isinstance(exc, IntegrityError):
            kind = integrity_kind(exc)
            log.info("write refused by a database constraint (%s): %s", kind, type(exc.orig).__name__)
            return JSONResponse(error_body("Invalid Input Provided", 2001, [_INTEGRITY_MESSAGES[kind]]),
                                status_code=400)
        log.error("database error", exc_info=exc)
        return JSONResponse(error_body("An unexpected error occurred.", 2000, []), status_code=500)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(error_body("An unexpected error occurred.", 2000, []), status_code=500)
