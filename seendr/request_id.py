"""Request and connection ids for logs: one id per HTTP request, one per WebSocket connection.

* :class:`RequestIdMiddleware` takes the caller's ``X-Request-ID`` (when it is a sane token, e.g.
  set by nginx or a client) or makes one, keeps it in a context variable for the duration of
  the request, and returns it in the response's ``X-Request-ID`` header.
* :class:`ConnectionIdMiddleware` wraps the WebSocket ASGI app: each connection gets an id in a
  context variable (and ``scope["connection_id"]``), which the consumer's handlers inherit.
* :class:`RequestContextFilter` (installed on the log handler in ``settings.LOGGING``) copies
  both onto every log record as ``request_id`` and ``connection_id``, so JSON logs carry them.
* Celery signal handlers carry a request's id into the tasks it enqueues (connected when the
  ``seendr`` app is ready, see ``seendr/apps.py``).

Context variables follow the request through ``sync_to_async`` threads (asgiref copies the
context), so logs written by sync views and ``database_sync_to_async`` services carry the id too.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from celery import signals
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

request_id: ContextVar[str | None] = ContextVar("seendr_request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("seendr_connection_id", default=None)


def new_id() -> str:
    return uuid.uuid4().hex


def accept_or_make(incoming: str | None) -> str:
    """The caller's id when it is a plain token of sane length, else a fresh one (no log injection)."""
    if incoming and _VALID_ID.match(incoming):
        return incoming
    return new_id()


class RequestIdMiddleware:
    """Give every HTTP request an id (``request.request_id``) and echo it as ``X-Request-ID``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _begin(self, request: HttpRequest) -> Any:
        rid = accept_or_make(request.META.get(_META_KEY))
        request.request_id = rid  # type: ignore[attr-defined]
        return request_id.set(rid)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = self._begin(request)
        try:
            response: HttpResponse = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = self._begin(request)
        try:
            response: HttpResponse = await self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response


class ConnectionIdMiddleware:
    """ASGI middleware for WebSocket connections: an id per connection in the logging context."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        cid = new_id()[:16]
        token = connection_id.set(cid)
        try:
            return await self.inner({**scope, "connection_id": cid}, receive, send)
        finally:
            connection_id.reset(token)


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``connection_id`` to every record ("-" when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        if not hasattr(record, "connection_id"):
            record.connection_id = connection_id.get() or "-"
        return True


# --- Request ids across the queue ---------------------------------------------------------------
# A task published while serving a request carries that request's id in a message header; the
# worker puts it (or "task-<id>" for beat and other origins) in the logging context while the task
# runs, so one id follows a request from nginx through Django into its background work.

_REQUEST_ID_HEADER = "seendr_request_id"
_tokens: dict[str, object] = {}


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **_: object) -> None:
    rid = request_id.get()
    if rid and headers is not None:
        headers.setdefault(_REQUEST_ID_HEADER, rid)


@signals.task_prerun.connect
def _enter_request_id(task_id=None, task=None, **_: object) -> None:
    rid = getattr(getattr(task, "request", None), _REQUEST_ID_HEADER, None) or f"task-{task_id}"
    _tokens[str(task_id)] = request_id.set(str(rid))


@signals.task_postrun.connect
def _leave_request_id(task_id=None, **_: object) -> None:
    token = _tokens.pop(str(task_id), None)
    if token is not None:
        request_id.reset(token)
