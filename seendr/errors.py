"""One family of refusals that every service raises and every door translates the same way.

A service refuses a request it cannot serve with ``ServiceError(code, message)``: ``code`` is the
stable machine name from PROTOCOL.md, ``message`` a sentence for people. An API view answers it
with :func:`seendr.http.service_error_response` (status from the error class), the chat consumer
with an ``error`` frame; neither needs to know which service raised it.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request refused on purpose. ``status`` is the HTTP status an API view answers with."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Unavailable(ServiceError):
    """A backing store did not answer; the caller may try again shortly."""

    status = 503
