"""The admin "Live" page: the numbers an operator watches, refreshing every few seconds.

``/admin/live/`` renders the page with the current numbers (useful without JavaScript too);
``/admin/live.json`` serves the same snapshot to ``static/js/admin_live.js``, which polls it. Both
go through ``admin.site.admin_view``: staff only, anyone else is sent to the admin log-in.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops import stats

CHART_WIDTH = 600
CHART_HEIGHT = 120
REFRESH_SECONDS = 5


def chart_bars(series: list[dict[str, int]]) -> dict[str, Any]:
    """Bar geometry for the matches-per-minute chart, computed here so the page needs no script."""
    peak = max((point["matches"] for point in series), default=0)
    width = CHART_WIDTH / max(len(series), 1)
    bars = []
    for i, point in enumerate(series):
        height = 0 if peak == 0 else round(point["matches"] / peak * (CHART_HEIGHT - 4), 1)
        bars.append(
            {
                "x": round(i * width, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(max(width - 1, 1), 1),
                "height": height,
                "matches": point["matches"],
                "minute": point["minute"],
            }
        )
    return {"bars": bars, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def _human_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def snapshot() -> dict[str, Any]:
    data = stats.live_snapshot()
    data["chart"] = chart_bars(data["series"])
    for info in data["redis_memory"].values():
        if info is not None:
            info["used_human"] = _human_bytes(info["used_bytes"])
            info["max_human"] = _human_bytes(info["max_bytes"]) if info["max_bytes"] else "no limit"
    return data


@require_GET
@never_cache
def live_page(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Live",
        "live": snapshot(),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return TemplateResponse(request, "admin/live.html", context)


@require_GET
@never_cache
def live_data(request: HttpRequest) -> JsonResponse:
    return JsonResponse(snapshot())


live_page_view = admin.site.admin_view(live_page)
live_data_view = admin.site.admin_view(live_data)
