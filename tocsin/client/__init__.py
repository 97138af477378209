"""A small typed client for PagerDuty's REST API v2 and Events API v2.

It speaks the public protocol only, so it works against Tocsin and against PagerDuty itself: the
``tocsin`` CLI uses it, and so can an importer reading a PagerDuty account. Shared plumbing: it
imports no Tocsin domain, database or web-server code (an import contract says so).
"""

from tocsin.client.errors import ApiError
from tocsin.client.events import EventsClient
from tocsin.client.rest import Credentials, RestClient

__all__ = ["ApiError", "Credentials", "EventsClient", "RestClient"]
