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


class MethodNotAllowed(TocsinError):
    """The resource exists but this change is not allowed in its state (an ended maintenance window)."""

    status_code, code, message = 405, 2100, "Method Not Allowed"


class TooManyItems(TocsinError):
    """A bulk request names more items than one call may change."""

    status_code, code, message = 413, 2001, "Request Entity Too Large"


class Conflict(TocsinError):
    """The change would break a rule another resource relies on (e.g. deleting a policy in use)."""

    status_code, code, message = 400, 2001, "Invalid Input Provided"


class NoUserForCredential(TocsinError):
    """``/users/me`` asked with an account-level credential.

    PagerDuty answers this one with ``{"error": "<text>"}`` (a string, not the usual object), and
    the official Python client recognises account keys by finding "account-level access token"
    in that string, so this error keeps that shape.
    """

    status_code, code = 400, 2001
    message = ("Because this request was made using an account-level access token, "
               "no user could be correlated with it; use a user-level API key or OAuth token")
    plain = True
