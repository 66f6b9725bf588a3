"""Matching's own numbers: matches formed per minute and how long each side waited.

The matcher (``lua/match.lua``) appends both sides' waits to a per-minute list in each pool shard
(so a minute's matches are half its length); these reads sum the shards and serve
``matching_stats`` and the ops pages. :func:`match_totals` folds finished minutes into cumulative
totals with ``lua/match_stats.lua`` (bookkeeping, idempotent; per shard, then summed), so /metrics
can expose monotonic counters.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from seendr import keys, pool_shards
from seendr.redis_state import lua, state

# Upper bounds (seconds) of the time-to-match histogram.
WAIT_BUCKETS: tuple[float, ...] = (0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120)
# How many past minutes the per-minute keys cover (their TTL is MATCH_STATS_TTL_SECONDS).
HISTORY_MINUTES = 120
# Minutes younger than this may still be written by the matcher; only older ones are folded.
FOLD_LAG_MINUTES = 2


def minute_of(now: float) -> int:
    return int(now // 60)


def matches_series(*, now: float, minutes: int = 60) -> list[tuple[int, int]]:
    """``[(minute, matches formed)]`` for the last ``minutes`` minutes, oldest first, this one last."""
    last = minute_of(now)
    span = list(range(last - minutes + 1, last + 1))
    pipe = state().pipeline(transaction=False)
    shards = pool_shards.names()
    for s in shards:
        for m in span:
            pipe.llen(keys.match_waits_per_minute(m, s))
    lengths = pipe.execute()
    per_minute = [sum(int(lengths[k * len(span) + i]) for k in range(len(shards))) for i in range(len(span))]
    return [(m, n // 2) for m, n in zip(span, per_minute, strict=True)]


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
    for shard in pool_shards.names():
        for m in range(first, last + 1):
            pipe.lrange(keys.match_waits_per_minute(m, shard), 0, -1)
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
    """The totals of every pool shard (each folds its own minutes, in one slot), summed."""
    count, waits, wait_sum = 0, 0, 0.0
    per_bucket = [0] * (len(WAIT_BUCKETS) + 1)
    for shard in pool_shards.names():
        c, w, ws, *buckets = _fold_shard(shard, now=now)
        count, waits, wait_sum = count + int(c), waits + int(w), wait_sum + float(ws)
        per_bucket = [a + int(b) for a, b in zip(per_bucket, buckets, strict=True)]
    cumulative: list[tuple[float, int]] = []
    running = 0
    for bound, n in zip([*WAIT_BUCKETS, float("inf")], per_bucket, strict=True):
        running += n
        cumulative.append((float(bound), running))
    return MatchTotals(matches=count, waits=waits, wait_sum=wait_sum, buckets=cumulative)


def _fold_shard(shard: str, *, now: float) -> list:
    last = minute_of(now)
    first = last - HISTORY_MINUTES + 1
    script_keys = [keys.match_stats_totals(shard)]
    for m in range(first, last + 1):
        script_keys.append(keys.match_waits_per_minute(m, shard))
    bounds = [repr(float(b)) for b in WAIT_BUCKETS]
    return lua("matching", "match_stats").run(
        state(), script_keys, [first, last - FOLD_LAG_MINUTES + 1, *bounds]
    )
