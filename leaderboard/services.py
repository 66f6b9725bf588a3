"""Writes: likes, talk time, karma, and every mutation of the leaderboard sorted sets.

Postgres is the source of truth (``Like`` rows, ``matching.Match`` history); the sorted sets are
a fast, rebuildable projection. Increments run after the Postgres commit; when Redis fails at that
moment the row is still durable, the failure is logged and ``reconcile_boards`` (a beat task)
repairs the drift. See ``leaderboard/boards.py`` for buckets, retention and tie order.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

import redis
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from leaderboard import boards, karma, selectors
from leaderboard.boards import Bucket
from leaderboard.models import Like
from profiles import services as profile_services
from profiles.models import Profile
from seendr import keys
from seendr.errors import ServiceError
from seendr.identity import IDENTITY_ID_MAX_LENGTH, Identity, is_match_id, user_id_from_identity
from seendr.redis_state import lua, state

logger = logging.getLogger(__name__)

# A half-built board disappears by itself if its rebuild dies.
BUILD_TTL_SECONDS = 3600


# --- Sorted-set increments ----------------------------------------------------------------


def _increment(*, board: str, amounts: dict[int, int], when: dt.datetime, now: dt.datetime) -> None:
    """Add ``amounts`` (user id -> points) to every live bucket of ``board`` that ``when`` falls in.

    One MULTI per call: a bucket's score and its expiry are written together.
    """
    amounts = {uid: amount for uid, amount in amounts.items() if amount > 0}
    if not amounts:
        return
    pipe = state().pipeline(transaction=True)
    for bucket in boards.buckets_for(when):
        if not bucket.is_live(now):
            continue  # a late write for a bucket that has already expired
        key = keys.leaderboard(board, bucket.period, bucket.name)
        for uid, amount in amounts.items():
            pipe.zincrby(key, amount, boards.member(uid))
        expires = bucket.expires_at_unix()
        if expires is not None:
            pipe.expireat(key, expires)
    pipe.execute()


def _increment_ranked(*, board: str, amounts: dict[int, int], when: dt.datetime, now: dt.datetime) -> None:
    """The after-commit half of a like or a match: rank only active, non-banned accounts."""
    try:
        allowed = selectors.rankable_user_ids(user_ids=amounts.keys(), now=now)
        _increment(
            board=board, amounts={u: a for u, a in amounts.items() if u in allowed}, when=when, now=now
        )
    except redis.RedisError as exc:
        logger.warning("leaderboard increment lost (reconcile will repair it): %s %s", board, exc)


# --- Likes --------------------------------------------------------------------------------


def like_partner(*, match_id: str, liker: Identity, liked_id: str, now: dt.datetime | None = None) -> bool:
    """Record that ``liker`` liked ``liked_id`` in match ``match_id``; True if this like is new.

    Idempotent and safe under concurrency: ``INSERT ... ON CONFLICT DO NOTHING`` on the unique
    (match_id, liker_identity) decides which of any number of simultaneous calls creates the row;
    only that one bumps ``Profile.likes_received`` and karma and, after commit, the ``likes``
    boards and the profile cache. The caller has already checked that ``liked_id`` was the
    liker's partner in that match.
    """
    now = now or timezone.now()
    if not is_match_id(match_id) or not liked_id or len(liked_id) > IDENTITY_ID_MAX_LENGTH:
        raise ServiceError("invalid", _("Unknown match or partner."))
    if liker.id == liked_id:
        raise ServiceError("self_like", _("You cannot like yourself."))
    liked_user_id = user_id_from_identity(liked_id)
    user_table = get_user_model()._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The subselects turn an account that no longer exists into NULL instead of an error.
            cursor.execute(
                f"INSERT INTO {Like._meta.db_table} "  # noqa: S608 - table names only
                "(match_id, liker_identity, liker_user_id, liked_identity, liked_user_id, created) "
                f"VALUES (%s, %s, (SELECT id FROM {user_table} WHERE id = %s), %s, "
                f"(SELECT id FROM {user_table} WHERE id = %s), %s) "
                "ON CONFLICT (match_id, liker_identity) DO NOTHING RETURNING liked_user_id",
                [match_id, liker.id, liker.user_id, liked_id, liked_user_id, now],
            )
            row = cursor.fetchone()
        if row is None:
            return False
        ranked_user_id = row[0]
        if ranked_user_id is None:
            return True  # a guest was liked: recorded, never ranked
        Profile.objects.filter(user_id=ranked_user_id).update(likes_received=F("likes_received") + 1)
        update_karma(user_id=ranked_user_id, now=now, invalidate=False)
        transaction.on_commit(lambda: _after_like(user_id=ranked_user_id, now=now), robust=True)
    return True


def _after_like(*, user_id: int, now: dt.datetime) -> None:
    _increment_ranked(board="likes", amounts={user_id: 1}, when=now, now=now)
    _invalidate_profile(user_id)


def _invalidate_profile(user_id: int) -> None:
    try:
        profile_services.invalidate_profile(user_id=user_id)
    except Exception:
        logger.exception("profile cache invalidation failed for user %s", user_id)


# --- Talk time ----------------------------------------------------------------------------


def record_talk_time(*, match, now: dt.datetime | None = None) -> None:
    """Add a newly recorded match's whole seconds to both participants' ``talk_time`` boards.

    Called once by the match-history writer when it creates the ``matching.Match`` row. Buckets
    follow the match's end time (``now`` only decides which buckets are still alive and which
    bans are in force). Guests (no user) are skipped. Runs after the surrounding commit.
    """
    seconds = selectors.talk_seconds(match.duration_seconds)
    amounts: dict[int, int] = {}
    for uid in (match.user_a_id, match.user_b_id):
        if uid is not None:
            amounts[uid] = amounts.get(uid, 0) + seconds
    if seconds <= 0 or not amounts:
        return
    ended_at = match.ended_at
    transaction.on_commit(
        lambda: _increment_ranked(
            board="talk_time", amounts=amounts, when=ended_at, now=now or timezone.now()
        ),
        robust=True,
    )


# --- Removal ------------------------------------------------------------------------------


def _board_keys(board: str, now: dt.datetime, *, margin: int = 1) -> list[str]:
    return [
        keys.leaderboard(board, period, bucket.name)
        for period in boards.PERIODS
        for bucket in boards.live_buckets(period, now, margin=margin)
    ]


def remove_user(*, user_id: int, now: dt.datetime | None = None) -> int:
    """Take an account off every board at once (a ban, a deleted account); returns removals.

    Touches the known list of bucket keys that can exist at ``now`` (plus one older bucket per
    period as a margin), one MULTI per board (a board's keys share a Cluster slot; two boards
    may not); no SCAN. A rebuild running meanwhile drops banned users again just before it swaps
    its boards in.
    """
    now = now or timezone.now()
    member = boards.member(user_id)
    removed = 0
    for board in boards.BOARDS:
        pipe = state().pipeline(transaction=True)
        for key in _board_keys(board, now):
            pipe.zrem(key, member)
        removed += sum(pipe.execute())
    return removed


# --- Rebuild and reconcile ----------------------------------------------------------------


@dataclass
class RebuildSummary:
    boards: int = 0
    members: int = 0
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)


def _targets(now: dt.datetime) -> list[tuple[str, Bucket]]:
    return [
        (board, bucket)
        for board in boards.BOARDS
        for period in boards.PERIODS
        for bucket in boards.live_buckets(period, now)
    ]


def _batched(items: Iterable, size: int):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def rebuild_boards(
    *,
    now: dt.datetime | None = None,
    batch_size: int = 2000,
    on_batch: Callable[[str, int], None] | None = None,
) -> RebuildSummary:
    """Recreate every live board from Postgres.

    Each board is written into a temporary key (with a TTL) in pipelined batches of
    ``batch_size`` ZADDs, then swapped over the live key by ``swap.lua`` in one atomic step, so a
    reader sees either the old board or the complete new one. ``on_batch(label, n)`` reports
    progress. Increments that land while a board is being built may be missed or counted twice
    for that board; ``reconcile_boards`` repairs such drift.
    """
    now = now or timezone.now()
    started = time.monotonic()
    client = state()
    token = secrets.token_hex(6)
    summary = RebuildSummary()
    for board, bucket in _targets(now):
        label = f"{board}:{bucket.period}:{bucket.name}"
        build_key = keys.leaderboard_build(board, bucket.period, bucket.name, token)
        live_key = keys.leaderboard(board, bucket.period, bucket.name)
        client.unlink(build_key)
        for batch in _batched(selectors.expected_scores(board=board, bucket=bucket, now=now), batch_size):
            pipe = client.pipeline(transaction=False)
            pipe.zadd(build_key, {boards.member(uid): score for uid, score in batch})
            pipe.expire(build_key, BUILD_TTL_SECONDS)
            pipe.execute()
            summary.members += len(batch)
            if on_batch:
                on_batch(label, len(batch))
        banned = [boards.member(uid) for uid in sorted(selectors.banned_user_ids(now=timezone.now()))]
        size = lua("leaderboard", "swap").run(
            client, [build_key, live_key], [bucket.expires_at_unix() or 0, *banned]
        )
        summary.sizes[label] = int(size)
        summary.boards += 1
    summary.seconds = time.monotonic() - started
    return summary


@dataclass
class ReconcileSummary:
    boards: int = 0
    checked: int = 0
    fixed: int = 0
    drift: dict[str, int] = field(default_factory=dict)


def reconcile_boards(*, now: dt.datetime | None = None, settle_seconds: float = 1.0) -> ReconcileSummary:
    """Compare every live board with Postgres and repair the members that differ.

    A member whose score differs is re-checked after ``settle_seconds`` (an increment may be
    between its commit and its ZINCRBY); the repair is a ZINCRBY by the remaining difference (or a
    ZREM when Postgres says the user has no score), so increments racing the repair are kept.
    Every repaired board is logged at WARNING with its drift.
    """
    now = now or timezone.now()
    client = state()
    summary = ReconcileSummary()
    suspects: list[tuple[str, Bucket, set[int]]] = []
    for board, bucket in _targets(now):
        key = keys.leaderboard(board, bucket.period, bucket.name)
        expected = dict(selectors.expected_scores(board=board, bucket=bucket, now=now))
        actual = selectors.board_scores(key=key, client=client)
        summary.boards += 1
        summary.checked += len(expected.keys() | actual.keys())
        differing = {
            uid for uid in expected.keys() | actual.keys() if expected.get(uid, 0) != actual.get(uid, 0)
        }
        if differing:
            suspects.append((board, bucket, differing))
    if not suspects:
        return summary
    if settle_seconds > 0:
        time.sleep(settle_seconds)
    for board, bucket, user_ids in suspects:
        key = keys.leaderboard(board, bucket.period, bucket.name)
        ordered = sorted(user_ids)
        expected = dict(selectors.expected_scores(board=board, bucket=bucket, now=now, user_ids=ordered))
        actual = client.zmscore(key, [boards.member(uid) for uid in ordered])
        pipe = client.pipeline(transaction=True)
        fixed = 0
        for uid, current in zip(ordered, actual, strict=True):
            want = expected.get(uid, 0)
            have = current or 0
            if want == have:
                continue
            fixed += 1
            if want == 0:
                pipe.zrem(key, boards.member(uid))
            else:
                pipe.zincrby(key, want - have, boards.member(uid))
        if fixed:
            expires = bucket.expires_at_unix()
            if expires is not None:
                pipe.expireat(key, expires)
            pipe.execute()
            label = f"{board}:{bucket.period}:{bucket.name}"
            summary.fixed += fixed
            summary.drift[label] = fixed
            logger.warning("leaderboard drift repaired on %s: %d member(s)", label, fixed)
    return summary


# --- Karma --------------------------------------------------------------------------------


def update_karma(
    *,
    user_id: int,
    upheld_reports: int | None = None,
    now: dt.datetime | None = None,
    invalidate: bool = True,
) -> float:
    """Recompute and store one user's karma (see ``leaderboard/karma.py``); returns it.

    ``upheld_reports`` is the number of upheld reports against the user when the caller knows it
    (moderation); otherwise it is looked up.
    """
    now = now or timezone.now()
    row = Profile.objects.filter(user_id=user_id).values_list("likes_received", "user__date_joined").first()
    if row is None:
        return 0.0
    likes_received, date_joined = row
    if upheld_reports is None:
        upheld_reports = karma.upheld_report_counts(user_ids=[user_id]).get(user_id, 0)
    value = karma.compute(
        likes_received=likes_received,
        upheld_reports=upheld_reports,
        account_age_days=karma.account_age_days(date_joined=date_joined, now=now),
    )
    Profile.objects.filter(user_id=user_id).update(karma=value)
    if invalidate:
        transaction.on_commit(lambda: _invalidate_profile(user_id), robust=True)
    return value


def recompute_all_karma(*, now: dt.datetime | None = None, batch_size: int = 1000) -> int:
    """The nightly pass: recompute every profile's karma in batches; returns how many changed."""
    now = now or timezone.now()
    changed = 0
    last_id = 0
    while True:
        rows = list(
            Profile.objects.filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "user_id", "likes_received", "user__date_joined", "karma")[:batch_size]
        )
        if not rows:
            return changed
        last_id = rows[-1][0]
        reports = karma.upheld_report_counts(user_ids=[r[1] for r in rows])
        updates = []
        for profile_id, user_id, likes_received, date_joined, old in rows:
            value = karma.compute(
                likes_received=likes_received,
                upheld_reports=reports.get(user_id, 0),
                account_age_days=karma.account_age_days(date_joined=date_joined, now=now),
            )
            if value != old:
                updates.append(Profile(id=profile_id, user_id=user_id, karma=value))
        if updates:
            with transaction.atomic():
                Profile.objects.bulk_update(updates, ["karma"])
                for profile in updates:
                    transaction.on_commit(lambda uid=profile.user_id: _invalidate_profile(uid), robust=True)
            changed += len(updates)
