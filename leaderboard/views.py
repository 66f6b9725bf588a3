"""The ``/leaderboard/`` page: server-rendered first, then kept fresh by static/js/leaderboard.js."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from leaderboard import boards, selectors

BOARD_LABELS = {"likes": _("Most liked"), "talk_time": _("Most talk time")}
PERIOD_LABELS = {"day": _("Today"), "week": _("This week"), "all": _("All time")}
# The page polls the JSON API this often (milliseconds); see the README for why polling.
POLL_MS = 5000


@require_GET
def leaderboard_page(request: HttpRequest) -> HttpResponse:
    board = request.GET.get("board") if request.GET.get("board") in boards.BOARDS else "likes"
    period = request.GET.get("period") if request.GET.get("period") in boards.PERIODS else "day"
    viewer = request.user.pk if request.user.is_authenticated else None
    try:
        data = selectors.top(board=board, period=period, now=timezone.now(), viewer_user_id=viewer)
        unavailable = False
    except selectors.LeaderboardUnavailable:
        data = {"board": board, "period": period, "entries": [], "me": None}
        unavailable = True
    context = {
        "board": board,
        "period": period,
        "data": data,
        "unavailable": unavailable,
        "boards": [(key, BOARD_LABELS[key]) for key in boards.BOARDS],
        "periods": [(key, PERIOD_LABELS[key]) for key in boards.PERIODS],
        "poll_ms": POLL_MS,
        "signed_in": viewer is not None,
    }
    return render(request, "leaderboard/leaderboard.html", context)
