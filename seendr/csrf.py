"""CSRF refusals in the caller's language: JSON under ``/api/``, Django's page elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "csrf_failed",
                    "message": "CSRF verification failed; send the csrftoken cookie's value in X-CSRFToken.",
                }
            },
            status=403,
        )
    return django_csrf_failure(request, reason=reason)
