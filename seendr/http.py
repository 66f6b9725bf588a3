"""The JSON doors' shared parts: one error shape (``{"error": {"code", "message", ...}}``), one
405, and CSRF protection that refuses in JSON."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from seendr.errors import ServiceError


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """An API error answer; ``extra`` fields (e.g. ``retry_after``) join ``code`` and ``message``."""
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def service_error_response(exc: ServiceError) -> JsonResponse:
    """How every API view answers a service's refusal."""
    return json_error(exc.status, exc.code, exc.message)


def method_not_allowed(*allowed: str) -> JsonResponse:
    response = json_error(
        405, "method_not_allowed", gettext("Use %(methods)s.") % {"methods": " or ".join(allowed)}
    )
    response["Allow"] = ", ".join(allowed)
    return response


def json_csrf_protect(view: Callable) -> Callable:
    """CSRF protection that answers a JSON 403 instead of Django's HTML failure page."""

    checker = CsrfViewMiddleware(lambda request: HttpResponse())

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Read the body before the check parses a multipart form from the stream: the
        # Idempotency-Key fingerprint needs the raw body afterwards.
        request.body  # noqa: B018
        if checker.process_view(request, None, (), {}) is not None:
            return json_error(
                403, "csrf_failed", gettext("CSRF verification failed; send the X-CSRFToken header.")
            )
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)
