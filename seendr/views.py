"""The health endpoints load balancers and orchestrators probe."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from seendr import health


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
