"""Reads: live boards from Redis, and the scores Postgres says each board should hold."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator

import redis
from django.contrib.auth import get_user_model
from django.db import connection

from leaderboard import boards
from leaderboard.boards import Bucket
from leaderboard.models import Like

# Listed exception in .importlinter: talk time is read from matching's match history.
from matching import selectors as match_selectors
from profiles import selectors as profile_selectors
from seendr import keys
from seendr.redis_state import lua, state

logger = logging.getLogger(__name__)

# Neighbours shown on each side of the viewer.
WINDOW_RADIUS = 2


class LeaderboardUnavailable(Exception):
    """Redis did not answer; the board cannot be read right now."""


# --- Who may be ranked --------------------------------------------------------------------


def banned_user_ids(*, now: dt.datetime, client: redis.Redis | None = None) -> set[int]:
    """Accounts whose ban (``keys.banned()``, identity id -> expiry) runs past ``now``."""
    client = client or state()
    # Expired entries may linger until moderation sweeps them; only bans running past now count.
    ids: set[int] = set()
    for identity_id in client.zrangebyscore(keys.banned(), f"({now.timestamp()}", "+inf"):
        if identity_id.startswith("u") and identity_id[1:].isdigit():
            ids.add(int(identity_id[1:]))
    return ids


def rankable_user_ids(*, user_ids: Iterable[int], now: dt.datetime) -> set[int]:
    """The subset of ``user_ids`` that may appear on a board: active accounts not banned now."""
    wanted = {int(uid) for uid in user_ids if uid is not None}
    if not wanted:
        return set()
    active = set(get_user_model().objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))
    if not active:
        return set()
    ordered = sorted(active)
    expiries = state().zmscore(keys.banned(), [f"u{uid}" for uid in ordered])
    stamp = now.timestamp()
    return {uid for uid, exp in zip(ordered, expiries, strict=True) if exp is None or exp <= stamp}


# --- What Postgres says -------------------------------------------------------------------


def talk_seconds(duration_seconds: float) -> int:
    """Talk time counts whole seconds (floor), so Redis sums and Postgres sums agree exactly."""
    return int(duration_seconds) if duration_seconds > 0 else 0


def expected_scores(
    *,
    board: str,
    bucket: Bucket,
    now: dt.datetime,
    user_ids: Iterable[int] | None = None,
    chunk_size: int = 2000,
) -> Iterator[tuple[int, int]]:
    """(user id, score) pairs the board ``bucket`` should hold, streamed from Postgres.

    Only active, non-banned accounts with a positive score appear. ``user_ids`` narrows the
    computation to those users (used to re-check suspected drift).
    """
    user_table = get_user_model()._meta.db_table
    params: list = []
    if board == "likes":
        where = ["l.liked_user_id IS NOT NULL"]
        if bucket.start is not None:
            where.append("l.created >= %s AND l.created < %s")
            params += [bucket.start, bucket.end]
        if user_ids is not None:
            where.append("l.liked_user_id = ANY(%s)")
            params.append(sorted({int(u) for u in user_ids}))
        sql = (
            f"SELECT l.liked_user_id, COUNT(*) FROM {Like._meta.db_table} l "  # noqa: S608 - table names only
            f"JOIN {user_table} u ON u.id = l.liked_user_id AND u.is_active "
            f"WHERE {' AND '.join(where)} GROUP BY l.liked_user_id"
        )
    elif board == "talk_time":
        # Talk time is matching's data (its Match rows): read through matching's selector.
        talk_sql, talk_params = match_selectors.talk_seconds_sql(
            start=bucket.start, end=bucket.end, user_ids=user_ids
        )
        params += talk_params
        sql = (
            f"SELECT t.uid, SUM(t.secs)::bigint FROM ({talk_sql}) t "  # noqa: S608
            f"JOIN {user_table} u ON u.id = t.uid AND u.is_active "
            "GROUP BY t.uid HAVING SUM(t.secs) > 0"
        )
    else:
        raise ValueError(f"unknown board {board!r}")

    banned = banned_user_ids(now=now)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(chunk_size)
            if not rows:
                return
            for uid, score in rows:
                if uid not in banned and score > 0:
                    yield int(uid), int(score)


# --- What Redis says ----------------------------------------------------------------------


def _number(value: str | float) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _pairs(flat: list) -> list[tuple[int, int | float]]:
    return [(boards.user_id_of(flat[i]), _number(flat[i + 1])) for i in range(0, len(flat), 2)]


def _cards(user_ids: set[int]) -> dict[int, dict]:
    if not user_ids:
        return {}
    return profile_selectors.get_cards(user_ids=sorted(user_ids))


def _entry(rank: int, user_id: int, score: int | float, card: dict) -> dict:
    username = card.get("username") or ""
    return {
        "rank": rank,
        "username": username,
        "display_name": card.get("display_name") or card.get("name") or username,
        "score": score,
    }


def board_key(*, board: str, period: str, now: dt.datetime) -> str:
    boards.validate(board, period)
    return keys.leaderboard(board, period, boards.bucket_for(period, now).name)


def top(
    *,
    board: str,
    period: str,
    now: dt.datetime,
    limit: int = boards.DEFAULT_LIMIT,
    viewer_user_id: int | None = None,
    radius: int = WINDOW_RADIUS,
) -> dict:
    """The API answer for one board: top ``limit`` entries and the viewer's place.

    One Redis round trip (``top.lua``) and one profile-cache read for every name shown. ``me`` is
    None for guests; for an account that is not on the board it has ``rank`` None and score 0.
    Entries of users whose card is gone (an account deleted a moment ago) are left out.
    """
    limit = max(1, min(int(limit), boards.MAX_LIMIT))
    key = board_key(board=board, period=period, now=now)
    viewer = boards.member(viewer_user_id) if viewer_user_id is not None else ""
    try:
        raw_top, raw_rank, raw_score, window_start, raw_window = lua("leaderboard", "top").run(
            state(), [key], [limit, viewer, radius]
        )
    except redis.RedisError as exc:
        logger.warning("leaderboard read failed: %s", exc)
        raise LeaderboardUnavailable(str(exc)) from exc

    top_pairs = _pairs(raw_top)
    window_pairs = _pairs(raw_window)
    wanted = {uid for uid, _ in top_pairs} | {uid for uid, _ in window_pairs}
    if viewer_user_id is not None:
        wanted.add(viewer_user_id)
    cards = _cards(wanted)

    entries = [
        _entry(position + 1, uid, score, cards[uid])
        for position, (uid, score) in enumerate(top_pairs)
        if uid in cards
    ]
    me = None
    if viewer_user_id is not None and viewer_user_id in cards:
        ranked = int(raw_rank) >= 0
        me = _entry(
            int(raw_rank) + 1 if ranked else None,
            viewer_user_id,
            _number(raw_score) if ranked else 0,
            cards[viewer_user_id],
        )
        me["around"] = [
            _entry(int(window_start) + offset + 1, uid, score, cards[uid])
            for offset, (uid, score) in enumerate(window_pairs)
            if uid in cards
        ]
    return {"board": board, "period": period, "entries": entries, "me": me}


def board_scores(*, key: str, client: redis.Redis | None = None) -> dict[int, int | float]:
    """Every member of one board key with its score (ZSCAN, so a big board does not block Redis)."""
    client = client or state()
    return {boards.user_id_of(m): _number(s) for m, s in client.zscan_iter(key, count=1000)}
