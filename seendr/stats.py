"""Operational reads for /metrics, the admin Live page and the ``matching_stats`` command.

Selectors only: nothing here writes, except :func:`match_totals`, whose script folds finished
per-minute match statistics into cumulative totals (bookkeeping, idempotent, see
``seendr/lua/match_stats.lua``). Other apps' modules are imported lazily, so this works whatever
subset of apps is installed, and every read degrades to ``None`` (logged) when its Redis is away:
a dashboard with one blank tile beats a 500.
"""

from __future__ import annotations

import functools
import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from django.conf import settings

from seendr import keys
from seendr.redis_state import lua, state

log = logging.getLogger(__name__)

T = TypeVar("T")

# Upper bounds (seconds) of the time-to-match histogram.
WAIT_BUCKETS: tuple[float, ...] = (0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120)
# How many past minutes the per-minute keys cover (their TTL is MATCH_STATS_TTL_SECONDS).
HISTORY_MINUTES = 120
# Minutes younger than this may still be written by the matcher; only older ones are folded.
FOLD_LAG_MINUTES = 2

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


def minute_of(now: float) -> int:
    return int(now // 60)


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
    from matching import presence  # lazily: the ops package must import without the app

    return presence.counts(now=time.time() if now is None else now)


# --- Matches per minute and time to match -------------------------------------------------


def matches_series(*, now: float, minutes: int = 60) -> list[tuple[int, int]]:
    """``[(minute, matches formed)]`` for the last ``minutes`` minutes, oldest first, this one last."""
    last = minute_of(now)
    span = list(range(last - minutes + 1, last + 1))
    values = state().mget([keys.matches_per_minute(m) for m in span])
    return [(m, int(v or 0)) for m, v in zip(span, values, strict=True)]


def rolling_last_minute(series: list[tuple[int, int]], *, now: float) -> int:
    """Matches in the last 60 seconds: this minute so far plus the share of the previous minute
    that still falls inside the window (the counters are per calendar minute)."""
    current = series[-1][1]
    previous = series[-2][1] if len(series) > 1 else 0
    return round(current + previous * (60 - now % 60) / 60)


def recent_waits(*, now: float, seconds: int = 60) -> list[float]:
    """Seconds each side waited, for matches formed in the last ``seconds`` (whole minutes)."""
    last = minute_of(now)
    first = minute_of(now - seconds)
    pipe = state().pipeline(transaction=False)
    for m in range(first, last + 1):
        pipe.lrange(keys.match_waits_per_minute(m), 0, -1)
    waits: list[float] = []
    for chunk in pipe.execute():
        for raw in chunk:
            try:
                waits.append(float(raw))
            except (TypeError, ValueError):
                continue
    return waits


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class MatchTotals:
    """Cumulative since statistics began: matches formed, and a histogram of waits per side."""

    matches: int
    waits: int
    wait_sum: float
    # (upper bound, cumulative count) pairs ending with (inf, waits), Prometheus style.
    buckets: list[tuple[float, int]]


def match_totals(*, now: float) -> MatchTotals:
    last = minute_of(now)
    first = last - HISTORY_MINUTES + 1
    script_keys = [keys.match_stats_totals()]
    for m in range(first, last + 1):
        script_keys += [keys.matches_per_minute(m), keys.match_waits_per_minute(m)]
    bounds = [repr(float(b)) for b in WAIT_BUCKETS]
    raw = lua("seendr", "match_stats").run(
        state(), script_keys, [first, last - FOLD_LAG_MINUTES + 1, *bounds]
    )
    count, waits, wait_sum, *per_bucket = raw
    cumulative: list[tuple[float, int]] = []
    running = 0
    for bound, n in zip([*WAIT_BUCKETS, float("inf")], per_bucket, strict=True):
        running += int(n)
        cumulative.append((float(bound), running))
    return MatchTotals(matches=int(count), waits=int(waits), wait_sum=float(wait_sum), buckets=cumulative)


# --- Profile cache ----------------------------------------------------------------------------


def profile_cache_stats() -> dict[str, int]:
    """Hit/miss counters of the profile cache (written by the profiles app)."""
    try:
        from profiles import cache
    except ImportError:
        return {}
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


def redis_memory() -> dict[str, dict[str, Any] | None]:
    """INFO memory of each role's server: used bytes, maxmemory and eviction policy (None if down).

    Roles that share one server report the same numbers.
    """
    result: dict[str, dict[str, Any] | None] = {}
    for role, setting in REDIS_ROLES:

        def read(url: str = getattr(settings, setting)) -> dict[str, Any]:
            client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
            try:
                info = client.info("memory")
            finally:
                client.close()
            return {
                "used_bytes": int(info.get("used_memory", 0)),
                "peak_bytes": int(info.get("used_memory_peak", 0)),
                "max_bytes": int(info.get("maxmemory", 0)),
                "policy": str(info.get("maxmemory_policy", "")),
            }

        result[role] = guarded(f"redis {role}", read)
    return result


# --- Moderation -------------------------------------------------------------------------------


def open_reports() -> int | None:
    """Reports waiting for a moderator, or None when the moderation app is not installed."""
    from django.apps import apps

    if not apps.is_installed("moderation"):
        return None
    from moderation import selectors

    return selectors.open_reports().count()


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
