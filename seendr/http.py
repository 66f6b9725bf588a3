"""The one shape of a JSON error answer: ``{"error": {"code", "message", ...}}`` with a status."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from seendr.errors import ServiceError


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """An API error answer; ``extra`` fields (e.g. ``retry_after``) join ``code`` and ``message``."""
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def service_error_response(exc: ServiceError) -> JsonResponse:
    return json_error(exc.status, exc.code, exc.message)
