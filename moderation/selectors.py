"""Trust and safety reads: the queue, who is banned (Redis mirror first, Postgres as truth)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

import redis
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from moderation.models import Ban, Report, ReportStatus
from seendr import keys
from seendr.redis_state import state

log = logging.getLogger(__name__)

# The banned-set score of a ban without end: 9999-12-31, far past any real expiry.
FOREVER_SCORE = 253402300799.0
# A ban without end sorts first, then the one ending last.
LAST_ENDING_FIRST = F("until").desc(nulls_first=True)


def open_reports() -> QuerySet[Report]:
    """The moderation queue: open reports, possible minors first, then newest first."""
    return Report.objects.filter(status=ReportStatus.OPEN).order_by("-priority", "-created")


def reports_about(*, identity_id: str) -> QuerySet[Report]:
    return Report.objects.filter(reported_identity=identity_id).order_by("-created")


def distinct_reporters_since(*, identity_id: str, since: dt.datetime) -> int:
    """People who reported ``identity_id`` since ``since``. Guests from one IP address count
    once, so a brigade of throwaway guests cannot suspend someone alone."""
    return (
        Report.objects.filter(reported_identity=identity_id, created__gte=since)
        .annotate(who=Coalesce(NullIf("reporter_ip_hash", Value("")), "reporter_identity"))
        .values("who")
        .distinct()
        .count()
    )


def _active(now: dt.datetime | None = None) -> Q:
    now = now or timezone.now()
    return Q(lifted_at__isnull=True) & (Q(until__isnull=True) | Q(until__gt=now))


def active_bans(*, identity_id: str, now: dt.datetime | None = None) -> QuerySet[Ban]:
    return Ban.objects.filter(_active(now), identity_id=identity_id)


def active_ban(*, identity_id: str, now: dt.datetime | None = None) -> Ban | None:
    """The ban that ends last (a ban without end first), or None."""
    return active_bans(identity_id=identity_id, now=now).order_by(LAST_ENDING_FIRST).first()


def active_ban_for_user(*, user_id: int, now: dt.datetime | None = None) -> Ban | None:
    return Ban.objects.filter(_active(now), user_id=user_id).order_by(LAST_ENDING_FIRST).first()


def ban_expiry_from_db(*, identity_id: str, now: dt.datetime | None = None) -> float | None:
    """Unix time the identity's last active ban ends (FOREVER_SCORE for none), None if unbanned."""
    row = active_ban(identity_id=identity_id, now=now)
    if row is None:
        return None
    return FOREVER_SCORE if row.until is None else row.until.timestamp()


def active_ban_expiries(*, now: dt.datetime | None = None) -> dict[str, float]:
    """identity id -> expiry score of every active ban (what ``keys.banned()`` should hold)."""
    wanted: dict[str, float] = {}
    for identity_id, until in Ban.objects.filter(_active(now)).values_list("identity_id", "until").iterator():
        score = FOREVER_SCORE if until is None else until.timestamp()
        wanted[identity_id] = max(score, wanted.get(identity_id, 0.0))
    return wanted


def is_banned(*, identity_id: str, now: float | None = None) -> bool:
    """The fast check (one ZSCORE); Postgres answers when Redis cannot."""
    now = time.time() if now is None else now
    try:
        score = state().zscore(keys.banned(), identity_id)
    except redis.RedisError as exc:
        log.warning("ban check of %s: redis unavailable, asking postgres: %s", identity_id, exc)
        expiry = ban_expiry_from_db(identity_id=identity_id)
        return expiry is not None and expiry > now
    return score is not None and float(score) > now


def is_ip_banned(ip_hash: str) -> bool:
    """True when an active ban carries this keyed IP hash (guests from a banned address)."""
    if not ip_hash:
        return False
    return Ban.objects.filter(_active(), ip_hash=ip_hash).exists()


def upheld_report_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Reports a moderator upheld (warned or banned) per reported account, for karma."""
    ids = sorted({int(uid) for uid in user_ids})
    rows = (
        Report.objects.filter(reported_user_id__in=ids, status__in=[ReportStatus.WARNED, ReportStatus.BANNED])
        .values("reported_user_id")
        .annotate(n=Count("id"))
    )
    return {row["reported_user_id"]: row["n"] for row in rows}
