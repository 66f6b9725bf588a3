"""JSON API: read a leaderboard, like the partner of a match over HTTP."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from leaderboard import boards, selectors, services
from seendr import identity as identities
from seendr.idempotency import idempotent, request_subject
from seendr.ratelimit import rate_limit

logger = logging.getLogger(__name__)

# The page polls every few seconds; a browser may reuse an answer this long.
CACHE_SECONDS = 2


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def json_csrf_protect(view: Callable) -> Callable:
    """CSRF protection that answers a JSON 403 instead of Django's HTML failure page."""

    checker = CsrfViewMiddleware(lambda request: HttpResponse())

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Read the body before the check parses a multipart form from the stream: the
        # Idempotency-Key fingerprint needs the raw body afterwards.
        request.body  # noqa: B018
        if checker.process_view(request, None, (), {}) is not None:
            return error(403, "csrf_failed", "CSRF verification failed; send the X-CSRFToken header.")
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)


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


def method_not_allowed(*allowed: str) -> JsonResponse:
    response = error(405, "method_not_allowed", f"Use {' or '.join(allowed)}.")
    response["Allow"] = ", ".join(allowed)
    return response


def leaderboard(request: HttpRequest, board: str) -> HttpResponse:
    """``GET /api/leaderboard/<board>/?period=day|week|all&limit=N``."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET")
    if board not in boards.BOARDS:
        return error(400, "unknown_board", f"Board must be one of: {', '.join(boards.BOARDS)}.")
    period = request.GET.get("period") or "day"
    if period not in boards.PERIODS:
        return error(400, "unknown_period", f"Period must be one of: {', '.join(boards.PERIODS)}.")
    try:
        limit = parse_limit(request.GET.get("limit"))
    except ValueError as exc:
        return error(400, "invalid_limit", str(exc).capitalize() + ".")
    try:
        body = selectors.top(
            board=board,
            period=period,
            now=timezone.now(),
            limit=limit,
            viewer_user_id=_viewer_user_id(request),
        )
    except selectors.LeaderboardUnavailable:
        return error(503, "unavailable", "The leaderboard is temporarily unavailable; try again shortly.")
    response = JsonResponse(body)
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    response["ETag"] = etag
    # "me" depends on the session: never let a shared cache keep it.
    response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response["Vary"] = "Cookie"
    return response


@json_csrf_protect
@idempotent("like")
@rate_limit("like", key=request_subject)
def like(request: HttpRequest, match_id: str) -> HttpResponse:
    """``POST /api/matches/<match_id>/like/``: like the partner of that match (once per match)."""
    if request.method != "POST":
        return method_not_allowed("POST")
    liker = identities.from_request(request)
    if liker is None:
        return error(401, "not_authenticated", "Sign in or start as a guest first.")
    from matching.selectors import match_partner

    partner_id = match_partner(match_id=match_id, identity_id=liker.id)
    if partner_id is None:
        return error(404, "match_not_found", "No such match of yours, or it ended too long ago.")
    try:
        created = services.like_partner(match_id=match_id, liker=liker, liked_id=partner_id)
    except services.InvalidLike as exc:
        return error(400, exc.code, exc.message)
    if created:
        services.notify_liked(match_id=match_id, liked_id=partner_id)
    return JsonResponse({"type": "liked", "match_id": match_id, "created": created})
