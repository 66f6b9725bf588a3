"""JSON API of the matching app."""

from __future__ import annotations

import logging

import redis
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from matching import pool, presence

log = logging.getLogger(__name__)


@require_GET
def online(request: HttpRequest) -> JsonResponse:
    """``{"online": N, "waiting": N, "in_call": N}``; 503 with a JSON error when Redis is away."""
    try:
        return JsonResponse(presence.counts())
    except (redis.RedisError, pool.MatchingUnavailable):
        log.warning("online counts unavailable", exc_info=True)
        return JsonResponse(
            {"error": {"code": "unavailable", "message": "Counts are temporarily unavailable."}}, status=503
        )
