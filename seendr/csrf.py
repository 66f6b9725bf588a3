"""CSRF refusals in the caller's language: JSON under ``/api/``, Django's page elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure

from seendr.http import json_error


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(
            403,
            "csrf_failed",
            _("CSRF verification failed; send the csrftoken cookie's value in X-CSRFToken."),
        )
    return django_csrf_failure(request, reason=reason)
