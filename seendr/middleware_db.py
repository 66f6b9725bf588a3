"""A lost database answers 503 with ``Retry-After``, never a 500 with a traceback.

When PostgreSQL is down or restarting, any code that touches it raises ``OperationalError``
(or ``InterfaceError`` on a connection that died under it). That becomes a 503: the JSON error
shape for ``/api/`` paths, a plain page otherwise (rendered without the request, so no context
processor reaches for the database again). Broken connections are dropped, so the next request
connects afresh: when PostgreSQL is back, pages work again without restarting any process.

Two doors, because Django handles the two places an error can come from differently:

* ``DatabaseUnavailableMiddleware.process_exception`` for errors raised by a view;
* ``server_error`` (``handler500`` in ``seendr/urls.py``) for errors raised by a middleware, e.g.
  one that reads ``request.user`` before the view runs. Django calls it while the exception is
  being handled, so it can tell a lost database from a real bug (which stays a 500).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.defaults import server_error as default_server_error

from seendr.http import json_error

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = _("The database is not answering right now.")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        return database_unavailable(request, exception)


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """``handler500``: a 503 when the error being handled is a lost database, else Django's 500."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return database_unavailable(request, exception)
    return default_server_error(request, *args, **kwargs)


def database_unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
    log.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
    for conn in connections.all(initialized_only=True):
        try:
            conn.close_if_unusable_or_obsolete()
        except Exception:
            log.debug("closing a broken connection failed", exc_info=True)
    return unavailable_response(request)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = json_error(503, "database_unavailable", str(MESSAGE))
    else:
        response = HttpResponse(render_to_string("503.html", {"message": MESSAGE}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
