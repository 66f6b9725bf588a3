"""Prometheus metrics at ``/metrics``.

Two kinds of numbers:

* Process-local, counted in ``seendr.metrics`` (HTTP latency, open chat WebSockets, rate-limit
  refusals) and exposed here from the default registry.
* Shared, read from Redis at scrape time by :class:`LiveStateCollector`: presence and pool sizes,
  matches formed and the time-to-match histogram (the matcher's per-minute keys, folded into
  monotonic totals), profile-cache hits and misses, Celery task outcomes (counted by the worker's
  signal handlers in ``ops.tasks``) and queue depth, Redis memory per role.

Several Daphne processes each serve their own ``/metrics``: scrape every process directly (one
target per replica, not through the load balancer). Process-local series then add up across
targets (``sum by (route) (rate(...))``); the shared series are the same on every target, so
aggregate them with ``max`` (or scrape one replica for them), never ``sum``.

Access: ``METRICS_TOKEN`` (``Authorization: Bearer <token>``) and/or ``METRICS_ALLOWED_NETWORKS``
(CIDRs matched against the peer address). With neither configured the endpoint answers 404;
a caller that matches neither gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from matching import stats as match_stats
from ops import stats

# --- Shared state, read at scrape time ----------------------------------------------------


class LiveStateCollector:
    """Reads Redis when Prometheus scrapes; a source that fails is skipped and flagged."""

    def describe(self) -> list:
        # Not describing keeps prometheus_client from calling collect() at registration time.
        return []

    def collect(self) -> Any:
        now = time.time()
        errors = GaugeMetricFamily(
            "seendr_scrape_source_up",
            "1 if the source answered during this scrape, else 0.",
            labels=["source"],
        )

        counts = stats.guarded("live counts", lambda: stats.live_counts(now=now))
        errors.add_metric(["presence"], 0 if counts is None else 1)
        if counts is not None:
            yield GaugeMetricFamily(
                "seendr_online", "Identities with a recent chat heartbeat.", value=counts["online"]
            )
            yield GaugeMetricFamily(
                "seendr_pool_waiting", "Identities waiting in the pool.", value=counts["waiting"]
            )
            yield GaugeMetricFamily("seendr_in_call", "Live matches in progress.", value=counts["in_call"])

        totals = stats.guarded("match totals", lambda: match_stats.match_totals(now=now))
        errors.add_metric(["match_stats"], 0 if totals is None else 1)
        if totals is not None:
            yield CounterMetricFamily("seendr_matches", "Matches formed.", value=totals.matches)
            hist = HistogramMetricFamily(
                "seendr_time_to_match_seconds", "Seconds each side waited in the pool before a match."
            )
            hist.add_metric(
                [],
                buckets=[("+Inf" if b == float("inf") else repr(b), n) for b, n in totals.buckets],
                sum_value=totals.wait_sum,
            )
            yield hist

        cache = stats.guarded("profile cache", stats.profile_cache_stats)
        errors.add_metric(["profile_cache"], 0 if cache is None else 1)
        if cache:
            family = CounterMetricFamily(
                "seendr_profile_cache_lookups", "Profile cache lookups by result.", labels=["result"]
            )
            for result, field in (("hit", "hits"), ("miss", "misses"), ("negative_hit", "negative_hits")):
                family.add_metric([result], cache.get(field, 0))
            yield family

        outcomes = stats.guarded("task outcomes", stats.task_outcomes)
        errors.add_metric(["celery_outcomes"], 0 if outcomes is None else 1)
        if outcomes is not None:
            family = CounterMetricFamily(
                "seendr_celery_tasks",
                "Celery task outcomes counted by the workers.",
                labels=["task", "outcome"],
            )
            for (task, outcome), n in sorted(outcomes.items()):
                family.add_metric([task, outcome], n)
            yield family

        depth = stats.guarded("celery queue", stats.celery_queue_depth)
        errors.add_metric(["broker"], 0 if depth is None else 1)
        if depth is not None:
            yield GaugeMetricFamily(
                "seendr_celery_queue_length", "Tasks waiting in the broker.", value=depth["queued"]
            )
            yield GaugeMetricFamily(
                "seendr_celery_unacked",
                "Tasks delivered to a worker, not yet acknowledged.",
                value=depth["unacked"],
            )

        memory = GaugeMetricFamily(
            "seendr_redis_used_memory_bytes", "used_memory of each Redis role.", labels=["role"]
        )
        for role, info in stats.redis_memory().items():
            errors.add_metric([f"redis_{role}"], 0 if info is None else 1)
            if info is not None:
                memory.add_metric([role], info["used_bytes"])
        yield memory
        yield errors


_collector = LiveStateCollector()
REGISTRY.register(_collector)


# --- The endpoint -------------------------------------------------------------------------


def _networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.METRICS_ALLOWED_NETWORKS]


def access(request: HttpRequest) -> int:
    """200 when the caller may scrape, 404 when metrics are off, 403 otherwise."""
    token = settings.METRICS_TOKEN
    networks = _networks()
    if not token and not networks:
        return 404
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return 200
    if networks:
        try:
            peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return 403
        if any(peer in net for net in networks):
            return 200
    return 403


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    status = access(request)
    if status != 200:
        return HttpResponse(status=status)
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
