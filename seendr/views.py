"""Site-wide pages: the landing page and the health endpoints."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_safe

from seendr import health


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html", {"online": _online_now()})


def _online_now() -> int | None:
    """The landing page's online count; a Redis outage shows 0 rather than an error page."""
    import time

    import redis

    from matching import presence

    try:
        return presence.online_count_sync(now=time.time())
    except redis.RedisError:
        return None


@require_safe  # load balancers probe with GET or HEAD
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Checks nothing else on purpose."""
    return JsonResponse({"status": "ok"})


@require_safe  # load balancers probe with GET or HEAD
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every dependency answers within a short timeout, else 503 naming the failures."""
    checks = health.check_all()
    down = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "ok" if not down else "unavailable", "checks": checks, "down": down}
    return JsonResponse(body, status=200 if not down else 503)
