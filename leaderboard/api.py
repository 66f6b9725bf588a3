"""JSON API: read a leaderboard. (Liking a partner is matching's ``/api/matches/<id>/like/``.)"""

from __future__ import annotations

import hashlib
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from leaderboard import boards, selectors
from seendr.http import json_error, method_not_allowed

logger = logging.getLogger(__name__)

# The page polls every few seconds; a browser may reuse an answer this long.
CACHE_SECONDS = 2


def _viewer_user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def parse_limit(raw: str | None) -> int:
    """``limit`` query parameter: 1..MAX_LIMIT, default DEFAULT_LIMIT; ValueError otherwise."""
    if raw is None or raw == "":
        return boards.DEFAULT_LIMIT
    if not raw.isdigit():
        raise ValueError("limit must be a whole number")
    value = int(raw)
    if not 1 <= value <= boards.MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {boards.MAX_LIMIT}")
    return value


def leaderboard(request: HttpRequest, board: str) -> HttpResponse:
    """``GET /api/leaderboard/<board>/?period=day|week|all&limit=N``."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET")
    if board not in boards.BOARDS:
        return json_error(
            400,
            "unknown_board",
            _("Board must be one of: %(boards)s.") % {"boards": ", ".join(boards.BOARDS)},
        )
    period = request.GET.get("period") or "day"
    if period not in boards.PERIODS:
        return json_error(
            400,
            "unknown_period",
            _("Period must be one of: %(periods)s.") % {"periods": ", ".join(boards.PERIODS)},
        )
    try:
        limit = parse_limit(request.GET.get("limit"))
    except ValueError as exc:
        return json_error(400, "invalid_limit", str(exc).capitalize() + ".")
    try:
        body = selectors.top(
            board=board,
            period=period,
            now=timezone.now(),
            limit=limit,
            viewer_user_id=_viewer_user_id(request),
        )
    except selectors.LeaderboardUnavailable:
        return json_error(
            503, "unavailable", _("The leaderboard is temporarily unavailable; try again shortly.")
        )
    response = JsonResponse(body)
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    response["ETag"] = etag
    # "me" depends on the session: never let a shared cache keep it.
    response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response["Vary"] = "Cookie"
    return response
