"""The public trust-and-safety pages: ``/rules/`` (with safety tips) and ``/privacy/``.

The privacy page reads its durations from the settings and constants that enforce them, so the
page cannot drift from what the code keeps.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from moderation.services import EVIDENCE_RETENTION_DAYS


@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/rules.html")


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    context = {
        "transcript_minutes": settings.CHAT_TRANSCRIPT_TTL_SECONDS // 60,
        "evidence_days": EVIDENCE_RETENTION_DAYS,
        "session_days": settings.SESSION_COOKIE_AGE // 86400,
        "cooldown_minutes": settings.MATCH_COOLDOWN_SECONDS // 60,
    }
    return render(request, "pages/privacy.html", context)
