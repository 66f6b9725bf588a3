"""Process-local Prometheus metrics, kept by ``prometheus_client`` in this process: HTTP latency
by route name (:class:`RequestMetricsMiddleware`), open chat WebSockets
(:class:`WebSocketMetricsMiddleware`), rate-limit refusals (:data:`RATE_LIMITED`).

The ``/metrics`` endpoint and the shared numbers read from Redis at scrape time live in
``ops.metrics``; this module is the ground floor every app may count into.

For other modules:

* ``RATE_LIMITED.labels(scope=...).inc()`` when a rate limit refuses a request or a frame.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

# --- Process-local metrics ----------------------------------------------------------------

REQUEST_LATENCY = Histogram(
    "seendr_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name (not raw path), method and status code.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKET_CONNECTIONS = Gauge("seendr_websocket_connections", "Chat WebSockets open on this process.")
WEBSOCKET_ACCEPTED = Counter("seendr_websocket_accepted", "Chat WebSockets accepted by this process.")
RATE_LIMITED = Counter(
    "seendr_rate_limited", "Requests or frames refused by a rate limit in this process, by scope.", ["scope"]
)


def route_label(request: HttpRequest) -> str:
    """A bounded label for a request: its URL name, else its route pattern, else a coarse class."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class RequestMetricsMiddleware:
    """Times every request into :data:`REQUEST_LATENCY` (first in the chain: it sees all of it)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    @staticmethod
    def _observe(request: HttpRequest, status: int, started: float) -> None:
        REQUEST_LATENCY.labels(route=route_label(request), method=request.method, status=str(status)).observe(
            time.perf_counter() - started
        )

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response.status_code, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = await self.get_response(request)
        self._observe(request, response.status_code, started)
        return response


class WebSocketMetricsMiddleware:
    """ASGI middleware: counts accepted WebSockets until the app for that socket returns."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        accepted = False

        async def observed_send(message: dict) -> None:
            nonlocal accepted
            if message.get("type") == "websocket.accept" and not accepted:
                accepted = True
                WEBSOCKET_CONNECTIONS.inc()
                WEBSOCKET_ACCEPTED.inc()
            await send(message)

        try:
            return await self.inner(scope, receive, observed_send)
        finally:
            if accepted:
                WEBSOCKET_CONNECTIONS.dec()
