"""Operational reads for /metrics, the admin Live page and the ``matching_stats`` command.

Selectors only: nothing here writes (the match statistics it shows are matching's, read through
``matching.stats``). Every read degrades to ``None`` (logged) when its Redis is away: a dashboard
with one blank tile beats a 500.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.cluster
from django.conf import settings

from matching import presence
from matching.stats import matches_series, median, recent_waits, rolling_last_minute
from moderation import selectors as moderation_selectors
from profiles import cache
from seendr import keys
from seendr.redis_state import client_for_url, state, url_list

log = logging.getLogger(__name__)

T = TypeVar("T")

# Redis roles by the settings that name them, in the order a page shows them.
REDIS_ROLES: tuple[tuple[str, str], ...] = (
    ("cache", "REDIS_CACHE_URL"),
    ("state", "REDIS_STATE_URL"),
    ("channels", "REDIS_CHANNELS_URL"),
    ("broker", "CELERY_BROKER_URL"),
)
# kombu's Redis transport keeps priorities in extra lists named <queue><sep><priority>.
_KOMBU_PRIORITY_SEP = "\x06\x16"
_KOMBU_PRIORITY_STEPS = (3, 6, 9)


def guarded(source: str, fn: Callable[[], T]) -> T | None:
    """Run one read; a Redis or database failure becomes None and a warning, never a 500."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - each tile degrades on its own
        log.warning("ops stats: %s unavailable: %s", source, exc)
        return None


# --- Live pool and presence -----------------------------------------------------------------


def live_counts(*, now: float | None = None) -> dict[str, int]:
    """``{"online", "waiting", "in_call"}`` from the matching app. Raises when Redis is away."""
    return presence.counts(now=time.time() if now is None else now)


# --- Profile cache ----------------------------------------------------------------------------


def profile_cache_stats() -> dict[str, int]:
    """Hit/miss counters of the profile cache (written by the profiles app)."""
    return cache.stats()


def hit_ratio(stats: dict[str, int]) -> float | None:
    hits = stats.get("hits", 0) + stats.get("negative_hits", 0)
    total = hits + stats.get("misses", 0)
    return hits / total if total else None


# --- Celery -----------------------------------------------------------------------------------


@functools.cache
def _broker() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        decode_responses=True,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )


def celery_queue_depth(queue: str | None = None) -> dict[str, int]:
    """``{"queued": N, "unacked": N}``: tasks waiting in the broker, and delivered but unfinished."""
    queue = queue or settings.CELERY_TASK_DEFAULT_QUEUE
    names = [queue] + [f"{queue}{_KOMBU_PRIORITY_SEP}{p}" for p in _KOMBU_PRIORITY_STEPS]
    pipe = _broker().pipeline(transaction=False)
    for name in names:
        pipe.llen(keys.celery_queue(name))
    pipe.hlen(keys.celery_unacked())
    *lengths, unacked = pipe.execute()
    return {"queued": sum(int(n) for n in lengths), "unacked": int(unacked)}


def task_outcomes() -> dict[tuple[str, str], int]:
    """``{(task name, outcome): count}`` counted by the worker's signal handlers."""
    raw = state().hgetall(keys.celery_task_outcomes())
    result: dict[tuple[str, str], int] = {}
    for field, value in raw.items():
        task, _, outcome = field.rpartition("|")
        result[(task, outcome)] = int(value)
    return result


def recent_failures(*, limit: int = 10) -> list[dict[str, Any]]:
    records = []
    for raw in state().lrange(keys.celery_recent_failures(), 0, limit - 1):
        try:
            records.append(json.loads(raw))
        except ValueError:
            continue
    return records


# --- Redis memory -----------------------------------------------------------------------------


def _memory_infos(url: str, *, sharded: bool) -> list[dict[str, Any]]:
    """INFO memory of every server behind a role's URL: each shard of a sharded role, each
    primary of a Cluster, the current primary behind Sentinel."""
    infos = []
    for one in url_list(url) if sharded else [url]:
        client = client_for_url(one, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            if isinstance(client, redis.cluster.RedisCluster):
                infos += client.info("memory", target_nodes=redis.cluster.RedisCluster.PRIMARIES).values()
            else:
                infos.append(client.info("memory"))
        finally:
            client.close()
    return infos


def redis_memory() -> dict[str, dict[str, Any] | None]:
    """INFO memory of each role (summed over its shards or Cluster primaries): used bytes,
    maxmemory and eviction policy (None if down).

    Roles that share one server report the same numbers.
    """
    result: dict[str, dict[str, Any] | None] = {}
    for role, setting in REDIS_ROLES:

        def read(url: str = getattr(settings, setting), sharded: bool = role == "channels") -> dict[str, Any]:
            infos = _memory_infos(url, sharded=sharded)
            return {
                "used_bytes": sum(int(i.get("used_memory", 0)) for i in infos),
                "peak_bytes": sum(int(i.get("used_memory_peak", 0)) for i in infos),
                "max_bytes": sum(int(i.get("maxmemory", 0)) for i in infos),
                "policy": ",".join(sorted({str(i.get("maxmemory_policy", "")) for i in infos})),
            }

        result[role] = guarded(f"redis {role}", read)
    return result


# --- Moderation -------------------------------------------------------------------------------


def open_reports() -> int:
    """Reports waiting for a moderator."""
    return moderation_selectors.open_reports().count()


# --- Everything the Live page shows -----------------------------------------------------------


def live_snapshot(*, now: float | None = None) -> dict[str, Any]:
    """One JSON-ready dict for the admin Live page; a source that fails gives None, not an error."""
    now = time.time() if now is None else now
    series = guarded("matches per minute", lambda: matches_series(now=now, minutes=60))
    waits = guarded("waits", lambda: recent_waits(now=now, seconds=60))
    cache = guarded("profile cache", profile_cache_stats)
    outcomes = guarded("task outcomes", task_outcomes)
    counts = guarded("live counts", lambda: live_counts(now=now))
    return {
        "generated_at": now,
        "online": counts["online"] if counts else None,
        "waiting": counts["waiting"] if counts else None,
        "in_call": counts["in_call"] if counts else None,
        "matches_last_minute": rolling_last_minute(series, now=now) if series else None,
        "matches_last_hour": sum(n for _, n in series) if series else None,
        "median_wait_seconds": median(waits) if waits is not None else None,
        "series": [{"minute": m, "matches": n} for m, n in series] if series else [],
        "cache": cache,
        "cache_hit_ratio": hit_ratio(cache) if cache else None,
        "celery": guarded("celery queue", celery_queue_depth),
        "failed_tasks": (
            sum(n for (_, outcome), n in outcomes.items() if outcome == "failure")
            if outcomes is not None
            else None
        ),
        "recent_failures": guarded("recent failures", recent_failures) or [],
        "redis_memory": redis_memory(),
        "open_reports": guarded("open reports", open_reports),
    }
