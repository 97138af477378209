"""The one exception hierarchy of the REST API.

Domain code raises these; ``tocsin.api.errors`` turns them into PagerDuty's wire error
``{"error": {"message", "code", "errors"}}`` in one place.
"""

from __future__ import annotations


class TocsinError(Exception):
    status_code = 500
    code = 2000
    message = "An unexpected error occurred."

    def __init__(self, message: str | None = None, errors: list[str] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors or []


class InvalidInput(TocsinError):
    status_code, code, message = 400, 2001, "Invalid Input Provided"


class MissingArguments(TocsinError):
    status_code, code, message = 400, 2003, "Missing Arguments"


class AuthenticationFailed(TocsinError):
    status_code, code, message = 401, 2006, "Authentication failed"


class AccessDenied(TocsinError):
    status_code, code, message = 403, 2010, "Access Denied"


class NotFound(TocsinError):
    status_code, code, message = 404, 2100, "Not Found"


class RateLimited(TocsinError):
    status_code, code, message = 429, 2020, "Rate Limit Exceeded"


class IncidentAlreadyResolved(TocsinError):
    status_code, code, message = 400, 1001, "Incident Already Resolved"


class InvalidStatus(TocsinError):
    status_code, code, message = 400, 1003, "Invalid Status Provided"
