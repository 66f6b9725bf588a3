"""Trust and safety reads: the queue, who is banned (Redis mirror first, Postgres as truth)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

import redis
from django.db.models import Count, F, Q, QuerySet
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


# How much one voice weighs towards an automatic suspension (see ``reporter_weight_since``).
ESTABLISHED_REPORTER_WEIGHT = 1.0
NEW_REPORTER_WEIGHT = 0.5  # guests, and accounts younger than AUTO_SUSPEND_ESTABLISHED_DAYS
DISTRUSTED_REPORTER_WEIGHT = 0.0  # accounts with negative karma


def _reporter_weight(
    *, joined: dt.datetime | None, karma: float | None, established_before: dt.datetime
) -> float:
    if joined is None:  # a guest, or an account deleted since
        return NEW_REPORTER_WEIGHT
    if karma is not None and karma < 0:
        return DISTRUSTED_REPORTER_WEIGHT
    return ESTABLISHED_REPORTER_WEIGHT if joined <= established_before else NEW_REPORTER_WEIGHT


def reporter_weight_since(*, identity_id: str, since: dt.datetime, established_before: dt.datetime) -> float:
    """The weight of the people who reported ``identity_id`` since ``since``.

    Reporters who share a network (or one identity seen on two networks) are one voice, however
    many accounts or guests they made; a voice weighs as much as its most trusted member: an
    account older than ``established_before`` 1, a newer account or a guest 0.5, an account with
    negative karma 0. So neither sock puppets from one address nor a swarm of fresh accounts
    suspends anyone alone.
    """
    rows = Report.objects.filter(reported_identity=identity_id, created__gte=since).values_list(
        "reporter_identity", "reporter_ip_hash", "reporter_user__date_joined", "reporter_user__profile__karma"
    )
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    weights: dict[str, float] = {}
    for reporter, ip_hash, joined, karma in rows:
        who = "i:" + reporter
        if ip_hash:
            parent[root(who)] = root("n:" + ip_hash)
        weight = _reporter_weight(joined=joined, karma=karma, established_before=established_before)
        weights[who] = max(weight, weights.get(who, 0.0))
    voices: dict[str, float] = {}
    for who, weight in weights.items():
        voice = root(who)
        voices[voice] = max(weight, voices.get(voice, 0.0))
    return sum(voices.values())


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


def active_network_expiries(*, now: dt.datetime | None = None) -> dict[str, float]:
    """network hash -> expiry score of every active ban carrying one (``keys.banned_networks()``)."""
    wanted: dict[str, float] = {}
    rows = Ban.objects.filter(_active(now)).exclude(ip_hash="").values_list("ip_hash", "until")
    for ip_hash, until in rows.iterator():
        score = FOREVER_SCORE if until is None else until.timestamp()
        wanted[ip_hash] = max(score, wanted.get(ip_hash, 0.0))
    return wanted


def network_ban_expiry_from_db(
    *, ip_hash: str, joined: dt.datetime | None = None, now: dt.datetime | None = None
) -> float | None:
    """Unix time the last active ban carrying this network ends, None if none. With ``joined``
    (an account's sign-up time) only bans that began before the account existed count: a ban
    covers new accounts from its network, not the neighbours who were there before it."""
    if not ip_hash:
        return None
    bans = Ban.objects.filter(_active(now), ip_hash=ip_hash)
    if joined is not None:
        bans = bans.filter(created__lte=joined)
    row = bans.order_by(LAST_ENDING_FIRST).first()
    if row is None:
        return None
    return FOREVER_SCORE if row.until is None else row.until.timestamp()


def ban_check(*, identity_id: str, now: float | None = None) -> tuple[bool, bool]:
    """(banned, mirror lost). The fast check is one round trip; Postgres answers when Redis
    cannot, or when the mirror is incomplete (the state Redis came back empty): never "not
    banned" by default. ``services.is_banned`` also rebuilds a lost mirror."""
    now = time.time() if now is None else now
    try:
        pipe = state().pipeline(transaction=False)
        pipe.exists(keys.ban_mirror_ready())
        pipe.zscore(keys.banned(), identity_id)
        ready, score = pipe.execute()
    except redis.RedisError as exc:
        log.warning("ban check of %s: redis unavailable, asking postgres: %s", identity_id, exc)
        ready, score = True, ban_expiry_from_db(identity_id=identity_id)
    if not ready:
        score = ban_expiry_from_db(identity_id=identity_id)
    return score is not None and float(score) > now, not ready


def is_banned(*, identity_id: str, now: float | None = None) -> bool:
    return ban_check(identity_id=identity_id, now=now)[0]


def is_ip_banned(ip_hash: str) -> bool:
    """True when an active ban carries this network hash (new guests and accounts from it)."""
    return network_ban_expiry_from_db(ip_hash=ip_hash) is not None


def upheld_report_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Reports a moderator upheld (warned or banned) per reported account, for karma."""
    ids = sorted({int(uid) for uid in user_ids})
    rows = (
        Report.objects.filter(reported_user_id__in=ids, status__in=[ReportStatus.WARNED, ReportStatus.BANNED])
        .values("reported_user_id")
        .annotate(n=Count("id"))
    )
    return {row["reported_user_id"]: row["n"] for row in rows}
