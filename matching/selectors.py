"""Reads about matches: the live (Redis) record first, the durable (Postgres) history second.

A like or report may arrive while the call runs, right after it ended (the live record is kept
``MATCH_ENDED_TTL_SECONDS``), or later from the history (the Match row the end-of-match task
wrote). Redis being down degrades to Postgres rather than failing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

import redis

from matching import presence
from matching.models import Match
from matching.types import MatchingUnavailable
from seendr import keys, redis_state
from seendr.identity import is_match_id

logger = logging.getLogger(__name__)


def match_participants(*, match_id: str) -> tuple[str, str] | None:
    """(a, b) identity ids of a live, recently ended, or recorded match; None if unknown."""
    if not is_match_id(match_id):
        return None
    try:
        a, b = redis_state.state().hmget(keys.live_match(match_id), ["a", "b"])
    except redis.exceptions.RedisError as exc:
        logger.warning("live match record unreadable, falling back to Postgres: %s", exc)
        a = b = None
    if a and b:
        return a, b
    row = Match.objects.filter(pk=match_id).values_list("identity_a", "identity_b").first()
    return (row[0], row[1]) if row else None


def match_partner(*, match_id: str, identity_id: str) -> str | None:
    """The other participant of the match, or None if unknown or ``identity_id`` was not in it."""
    participants = match_participants(match_id=match_id)
    if participants is None:
        return None
    a, b = participants
    if identity_id == a:
        return b
    if identity_id == b:
        return a
    return None


def online_now() -> int | None:
    """The online count the landing page shows; a Redis outage shows nothing rather than an error page."""
    try:
        return presence.online_count_sync(now=time.time())
    except redis.RedisError:
        return None


def talk_seconds_sql(
    *, start: dt.datetime | None, end: dt.datetime | None, user_ids: Iterable[int] | None
) -> tuple[str, list]:
    """SQL (and its parameters) yielding ``(uid, secs)``: one row per account side of each
    recorded match ended in ``[start, end)``, optionally only for ``user_ids``. The leaderboard's
    talk-time rebuild sums it; matching owns the table it reads."""
    params: list = []

    def side(column: str) -> str:
        clauses = [f"{column} IS NOT NULL"]
        if start is not None:
            clauses.append("ended_at >= %s AND ended_at < %s")
            params.extend([start, end])
        if user_ids is not None:
            clauses.append(f"{column} = ANY(%s)")
            params.append(sorted({int(u) for u in user_ids}))
        return (
            f"SELECT {column} AS uid, FLOOR(duration_seconds) AS secs FROM {Match._meta.db_table} "  # noqa: S608
            f"WHERE {' AND '.join(clauses)}"
        )

    sql = f"{side('user_a_id')} UNION ALL {side('user_b_id')}"
    return sql, params


def match_record(*, match_id: str) -> dict[str, str] | None:
    """The live or recently ended match hash (``a``, ``b``, ``started_at``, ``ended_at``...), or None."""
    try:
        record = redis_state.state().hgetall(keys.live_match(match_id))
    except redis.exceptions.RedisError as exc:
        raise MatchingUnavailable("Matching is temporarily unavailable.") from exc
    return record or None
