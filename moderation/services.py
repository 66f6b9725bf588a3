"""Trust and safety writes: reports (with evidence), bans that act live, moderator decisions.

Every function here is keyword-only. Postgres is written first; Redis and the Channels layer
are told after the transaction commits (``transaction.on_commit``), so a rolled-back ban never
kicks anyone and a committed one always does (or is restored by :func:`rebuild_ban_set`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from moderation import selectors, signals, snapshots
from moderation.models import (
    BAN_REASON_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    ActionKind,
    Ban,
    ModerationAction,
    Priority,
    Reason,
    Report,
    ReportSnapshot,
    ReportStatus,
)
from profiles import services as profile_services
from seendr import identity as identities
from seendr import keys, networks, pool_shards
from seendr.errors import ServiceError
from seendr.identity import Identity, user_id_from_identity
from seendr.redis_state import state

log = logging.getLogger(__name__)

AUTO_SUSPEND_REASON = "auto-suspended pending review"
AUTO_SUSPEND_WINDOW = dt.timedelta(hours=24)
BAN_DAY_CHOICES = (1, 7, 30)
# Chat lines are personal data: once a report is decided and this old, its transcript goes.
EVIDENCE_RETENTION_DAYS = 180


# --- Reports ------------------------------------------------------------------------------


def account_evidence(*, reported_id: str) -> dict | None:
    """What the reported account looked like at report time (None for a guest or a gone account)."""
    user_id = user_id_from_identity(reported_id)
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).select_related("profile").first()
    if user is None:
        return None
    profile = getattr(user, "profile", None)
    return {
        "username": user.get_username(),
        "date_joined": user.date_joined.isoformat(),
        "display_name": getattr(profile, "display_name", ""),
        "bio": getattr(profile, "bio", ""),
    }


def _name_of(identity_id: str, evidence: dict) -> str:
    for record in (evidence.get("live_match") or {}, evidence.get("match") or {}):
        for side in ("a", "b"):
            if record.get(side) == identity_id or record.get(f"identity_{side}") == identity_id:
                name = record.get(f"name_{side}")
                if name:
                    return str(name)[:NAME_MAX_LENGTH]
    account = evidence.get("reported_account")
    if account:
        return (account.get("display_name") or account.get("username") or "")[:NAME_MAX_LENGTH]
    if identity_id.startswith("g"):
        guest = identities.get_guest(guest_id=identity_id)
        return guest.name if guest else ""
    return ""


def _label_lines(evidence: dict, people: dict[str, tuple[str, str]]) -> None:
    """Name the speaker of each transcript line (the consumer stores only the identity id)."""
    for line in evidence.get("transcript") or []:
        if isinstance(line, dict) and line.get("from") in people:
            name, role = people[line["from"]]
            line.setdefault("name", (name or "")[:NAME_MAX_LENGTH])
            line.setdefault("role", role)


def _network_of(identity_id: str) -> str:
    try:
        return networks.of(identity_id=identity_id)
    except redis.RedisError as exc:
        log.warning("network of %s unreadable: %s", identity_id, exc)
        return ""


def _existing_user_id(identity_id: str) -> int | None:
    user_id = user_id_from_identity(identity_id)
    if user_id is None or not get_user_model().objects.filter(pk=user_id).exists():
        return None
    return user_id


def report(
    *,
    match_id: str,
    reporter: Identity,
    reported_id: str,
    reason: str,
    note: str,
    evidence: dict | None = None,
    snapshot: bytes | None = None,
) -> bool:
    """File ``reporter``'s report about ``reported_id`` in ``match_id``; True if new.

    ``evidence`` is what the live loop holds about the match (``matching.evidence``: transcript,
    live and stored match records), handed in by matching; the reported account's details are
    added here. Malformed input raises ``ServiceError``.

    ``snapshot``: a nudity report's still of the partner's video (JPEG or PNG bytes from the
    reporter's browser); re-encoded and kept with the evidence. A bad one refuses the report
    (``InvalidSnapshot``, code ``bad_snapshot``) before anything is written.

    Idempotent: a second report by the same reporter about the same match returns False and
    changes nothing (a unique constraint decides, so concurrent duplicates count once).
    Either way the reporter blocks the reported identity. ``underage`` reports jump the queue.
    A new report runs the auto-suspension check here, on the request path: the suspension is a
    PostgreSQL row when this returns, so no lost or wiped task queue can skip one (a Celery
    task for it would be the only copy of that decision until a worker ran it).
    """
    if reason not in Reason.values:
        raise ServiceError(
            "bad_reason", _("reason must be one of %(reasons)s") % {"reasons": ", ".join(Reason.values)}
        )
    if not identities.is_match_id(match_id):
        raise ServiceError("bad_match", _("not a match id"))
    if not identities.is_identity_id(reporter.id) or not identities.is_identity_id(reported_id):
        raise ServiceError("bad_identity", _("not an identity id"))
    if reporter.id == reported_id:
        raise ServiceError("self_report", _("you cannot report yourself"))
    note = (note or "")[:NOTE_MAX_LENGTH]
    if snapshot is not None and reason != Reason.NUDITY:
        raise snapshots.InvalidSnapshot(_("only a nudity report carries one"))
    still = snapshots.clean_snapshot(snapshot) if snapshot is not None else None

    created = False
    if not Report.objects.filter(match_id=match_id, reporter_identity=reporter.id).exists():
        evidence = {"captured_at": timezone.now().isoformat(), **(evidence or {})}
        account = account_evidence(reported_id=reported_id)
        if account is not None:
            evidence["reported_account"] = account
        ip_hash = _network_of(reported_id)
        reporter_ip_hash = _network_of(reporter.id)
        reported_name = _name_of(reported_id, evidence)
        _label_lines(
            evidence, {reporter.id: (reporter.name, "reporter"), reported_id: (reported_name, "reported")}
        )
        try:
            with transaction.atomic():
                filed = Report.objects.create(
                    match_id=match_id,
                    reporter_identity=reporter.id,
                    reporter_user_id=_existing_user_id(reporter.id),
                    reporter_name=(reporter.name or "")[:NAME_MAX_LENGTH],
                    reporter_ip_hash=reporter_ip_hash,
                    reported_identity=reported_id,
                    reported_user_id=_existing_user_id(reported_id),
                    reported_name=reported_name,
                    reported_ip_hash=ip_hash,
                    reason=reason,
                    note=note,
                    evidence=evidence,
                    priority=Priority.URGENT if reason == Reason.UNDERAGE else Priority.NORMAL,
                )
                if still is not None:
                    ReportSnapshot.objects.create(
                        report=filed, jpeg=still.jpeg, width=still.width, height=still.height
                    )
            created = True
        except IntegrityError:
            # The unique (match, reporter) constraint: a concurrent duplicate won the race.
            created = False

    try:
        profile_services.block(blocker_id=reporter.id, blocked_id=reported_id)
    except redis.RedisError as exc:
        # An account's block row is in Postgres already; rebuild_block_sets restores the set.
        log.warning("report: block of %s by %s not mirrored to redis: %s", reported_id, reporter.id, exc)

    if created:
        check_auto_suspend(identity_id=reported_id)
    return created


# --- Bans ---------------------------------------------------------------------------------


def _expiry_score(until: dt.datetime | None) -> float:
    return selectors.FOREVER_SCORE if until is None else until.timestamp()


def _mirror_entry(key_of, member: str, expiry: float | None) -> None:
    """Write one ban mirror entry to every pool shard (each shard's matcher reads its own copy)."""
    pipe = state().pipeline(transaction=False)
    for shard in pool_shards.names():
        if expiry is None:
            pipe.zrem(key_of(shard), member)
        else:
            pipe.zadd(key_of(shard), {member: expiry})
    pipe.execute()


def sync_ban_entry(*, identity_id: str) -> float | None:
    """Make ``keys.banned()`` of every pool shard agree with Postgres for one identity; returns
    the expiry written."""
    expiry = selectors.ban_expiry_from_db(identity_id=identity_id)
    _mirror_entry(keys.banned, identity_id, expiry)
    return expiry


def sync_network_entry(*, ip_hash: str) -> float | None:
    """Make ``keys.banned_networks()`` of every pool shard agree with Postgres for one network."""
    if not ip_hash:
        return None
    expiry = selectors.network_ban_expiry_from_db(ip_hash=ip_hash)
    _mirror_entry(keys.banned_networks, ip_hash, expiry)
    return expiry


def _kick(*, identity_id: str, ip_hash: str, until: dt.datetime | None, reason: str) -> None:
    """Everything live about a new ban; each step on its own so one failure spares the rest."""
    try:
        sync_ban_entry(identity_id=identity_id)
        sync_network_entry(ip_hash=ip_hash)
    except redis.RedisError as exc:
        log.error("ban %s: banned set not updated (rebuild_ban_set restores it): %s", identity_id, exc)
    # The floors above act on their own data: matching drops the pool ticket (the matcher skips
    # banned ids anyway), leaderboard takes the account off the boards (rebuilt without it too).
    for receiver, result in signals.ban_issued.send_robust(
        sender=Ban, identity_id=identity_id, user_id=user_id_from_identity(identity_id), until=until
    ):
        if isinstance(result, Exception):
            log.warning(
                "ban %s: %s failed: %s", identity_id, getattr(receiver, "__qualname__", receiver), result
            )
    try:
        async_to_sync(get_channel_layer().group_send)(
            keys.identity_group(identity_id),
            {"type": "identity.banned", "until": until.isoformat() if until else None, "reason": reason},
        )
    except Exception as exc:  # noqa: BLE001 - the consumer re-checks bans on connect
        log.error("ban %s: live sockets not told: %s", identity_id, exc)


def ban(
    *,
    identity_id: str,
    until: dt.datetime | None,
    reason: str,
    moderator=None,
    ip_hash: str | None = None,
    report: Report | None = None,
    kind: str = ActionKind.BAN,
    note: str = "",
) -> Ban:
    """Ban an identity (``until`` None: forever). Live at commit: the banned set, the pool, the
    leaderboards and every socket of the identity on any instance (``identity.banned``)."""
    if not identities.is_identity_id(identity_id):
        raise ValueError("not an identity id")
    now = timezone.now()
    if until is not None and until <= now:
        raise ValueError("a ban must end in the future")
    if ip_hash is None:
        # The network the identity used (a guest's, or the one an account last came from), so
        # the ban reaches the next guest or account from it too.
        ip_hash = _network_of(identity_id)
    reason = (reason or "")[:BAN_REASON_MAX_LENGTH] or "terms of use"
    with transaction.atomic():
        row = Ban.objects.create(
            identity_id=identity_id,
            user_id=_existing_user_id(identity_id),
            ip_hash=ip_hash or "",
            reason=reason,
            until=until,
            created_by=moderator,
            created=now,
            report=report,
        )
        ModerationAction.objects.create(
            kind=kind,
            moderator=moderator,
            target_identity=identity_id,
            report=report,
            ban=row,
            note=note,
            created=now,
        )
        network = row.ip_hash
        transaction.on_commit(
            lambda: _kick(identity_id=identity_id, ip_hash=network, until=until, reason=reason)
        )
    return row


def kick_live_session(*, identity_id: str, moderator, note: str = "") -> ModerationAction:
    """Close every chat socket of an identity now, without a ban: its partner is told the
    match ended and the person may come back at once. Recorded in the audit trail."""
    if not identities.is_identity_id(identity_id):
        raise ValueError("not an identity id")
    with transaction.atomic():
        action = ModerationAction.objects.create(
            kind=ActionKind.KICK, moderator=moderator, target_identity=identity_id, note=note
        )
        transaction.on_commit(lambda: _send_kick(identity_id=identity_id))
    return action


def _send_kick(*, identity_id: str) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            keys.identity_group(identity_id), {"type": "identity.kick"}
        )
    except Exception as exc:  # noqa: BLE001 - the action is recorded; the moderator may retry
        log.error("kick %s: live sockets not told: %s", identity_id, exc)


def lift_ban(*, ban_id: int, moderator, note: str = "") -> Ban:
    """End a ban now (other active bans of the identity still hold)."""
    with transaction.atomic():
        row = Ban.objects.select_for_update().get(pk=ban_id)
        if row.lifted_at is None:
            row.lifted_at = timezone.now()
            row.lifted_by = moderator
            row.save(update_fields=["lifted_at", "lifted_by"])
            ModerationAction.objects.create(
                kind=ActionKind.LIFT, moderator=moderator, target_identity=row.identity_id, ban=row, note=note
            )
            identity_id, network = row.identity_id, row.ip_hash
            transaction.on_commit(lambda: sync_ban_entry(identity_id=identity_id))
            transaction.on_commit(lambda: sync_network_entry(ip_hash=network))
    return row


def rebuild_ban_set() -> int:
    """Restore ``keys.banned()`` and ``keys.banned_networks()`` of every pool shard from Postgres
    (after a Redis flush), then mark each shard's mirror complete; returns active identity entries.

    Adds every active ban, then removes members Postgres no longer backs (re-reading each one,
    so a ban committed meanwhile survives).
    """
    wanted = selectors.active_ban_expiries()
    wanted_networks = selectors.active_network_expiries()
    client = state()
    for shard in pool_shards.names():
        if wanted:
            client.zadd(keys.banned(shard), wanted)
        if wanted_networks:
            client.zadd(keys.banned_networks(shard), wanted_networks)
        for identity_id in set(client.zrange(keys.banned(shard), 0, -1)) - set(wanted):
            sync_ban_entry(identity_id=identity_id)
        for ip_hash in set(client.zrange(keys.banned_networks(shard), 0, -1)) - set(wanted_networks):
            sync_network_entry(ip_hash=ip_hash)
        client.set(keys.ban_mirror_ready(shard), str(int(time.time())))
    return len(wanted)


def ban_mirror_complete() -> bool:
    """Whether every pool shard still holds its ban mirror (its readiness marker)."""
    pipe = state().pipeline(transaction=False)
    for shard in pool_shards.names():
        pipe.exists(keys.ban_mirror_ready(shard))
    return all(pipe.execute())


# One rebuild at a time after a loss; everyone else asks Postgres meanwhile.
MIRROR_RESTORE_LOCK_SECONDS = 30


def restore_ban_mirror() -> bool:
    """Rebuild the ban mirror now if the state Redis lost it (no ``ban_mirror_ready`` marker: a
    single ban written since then must not pass for the whole set). True if this call rebuilt."""
    client = state()
    try:
        if ban_mirror_complete():
            return False
        if not client.set(keys.ban_mirror_lock(), "1", nx=True, ex=MIRROR_RESTORE_LOCK_SECONDS):
            return False
        log.warning("ban mirror missing from the state redis: rebuilding it from postgres")
        try:
            rebuild_ban_set()
        finally:
            client.delete(keys.ban_mirror_lock())
    except redis.RedisError as exc:
        log.warning("ban mirror: could not rebuild: %s", exc)
        return False
    return True


def is_banned(*, identity_id: str, now: float | None = None) -> bool:
    """The ban check of every HTTP request with a session: the mirror's answer, or Postgres's
    when the mirror was lost, which this then rebuilds at once."""
    banned, mirror_lost = selectors.ban_check(identity_id=identity_id, now=now)
    if mirror_lost:
        restore_ban_mirror()
    return banned


def ban_expiry(*, identity_id: str, network: str = "", now: float | None = None) -> float | None:
    """Postgres's answer to "is this identity, on this network, banned?": its own bans, then bans
    carrying the network (every guest on it, and accounts created since that ban began).
    Restores a lost mirror on the way. The chat socket asks this when its Redis check cannot
    decide alone."""
    restore_ban_mirror()
    moment = None if now is None else dt.datetime.fromtimestamp(now, tz=dt.UTC)
    expiry = selectors.ban_expiry_from_db(identity_id=identity_id, now=moment)
    if expiry is not None or not network:
        return expiry
    joined = None
    user_id = user_id_from_identity(identity_id)
    if user_id is not None:
        joined = get_user_model().objects.filter(pk=user_id).values_list("date_joined", flat=True).first()
        if joined is None:
            return None
    return selectors.network_ban_expiry_from_db(ip_hash=network, joined=joined, now=moment)


def prune_expired_bans(*, now: float | None = None) -> int:
    """Drop expired members from the ban mirror (every reader already ignores them)."""
    now = timezone.now().timestamp() if now is None else now
    pipe = state().pipeline(transaction=False)
    for shard in pool_shards.names():
        pipe.zremrangebyscore(keys.banned_networks(shard), "-inf", now)
        pipe.zremrangebyscore(keys.banned(shard), "-inf", now)
    return int(pipe.execute()[1])  # the default shard's count: every shard holds the same


def prune_evidence(*, now: dt.datetime | None = None) -> int:
    """Drop the transcripts and snapshots of decided reports older than
    ``EVIDENCE_RETENTION_DAYS`` (the decision, the reason and the match record stay); returns
    reports pruned."""
    now = now or timezone.now()
    retention = dt.timedelta(days=getattr(settings, "EVIDENCE_RETENTION_DAYS", EVIDENCE_RETENTION_DAYS))
    decided = Report.objects.filter(created__lt=now - retention, resolved_at__isnull=False)
    pruned: set[int] = set()
    for row in decided.exclude(evidence__transcript=[]).only("pk", "evidence").iterator():
        evidence = dict(row.evidence or {})
        evidence["transcript"] = []
        evidence["transcript_pruned_at"] = now.isoformat()
        Report.objects.filter(pk=row.pk).update(evidence=evidence)
        pruned.add(row.pk)
    stills = ReportSnapshot.objects.filter(report__in=decided)
    pruned.update(stills.values_list("report_id", flat=True))
    stills.delete()
    return len(pruned)


# --- Automatic suspension -----------------------------------------------------------------


def check_auto_suspend(*, identity_id: str, now: dt.datetime | None = None) -> Ban | None:
    """Suspend ``identity_id`` for AUTO_SUSPEND_HOURS pending review when the reporters of the
    last 24 hours weigh AUTO_SUSPEND_REPORTERS (one voice per network, weighed by account age
    and karma: ``selectors.reporter_weight_since``) and no ban holds already. The reports stay
    open: a moderator confirms with a real ban or lifts it. Safe to run concurrently."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"auto_suspend:{identity_id}"])
        weight = selectors.reporter_weight_since(
            identity_id=identity_id,
            since=now - AUTO_SUSPEND_WINDOW,
            established_before=now - dt.timedelta(days=settings.AUTO_SUSPEND_ESTABLISHED_DAYS),
        )
        if weight < settings.AUTO_SUSPEND_REPORTERS:
            return None
        if selectors.active_bans(identity_id=identity_id, now=now).exists():
            return None
        latest = selectors.reports_about(identity_id=identity_id).first()
        return ban(
            identity_id=identity_id,
            until=now + dt.timedelta(hours=settings.AUTO_SUSPEND_HOURS),
            reason=AUTO_SUSPEND_REASON,
            moderator=None,
            ip_hash=(latest.reported_ip_hash or None) if latest else None,
            kind=ActionKind.AUTO_SUSPEND,
            note=f"reporters weighing {weight:g} within 24 h",
        )


# --- Moderator decisions on reports -------------------------------------------------------


def _resolve(report: Report, *, status: str, moderator) -> None:
    report.status = status
    report.resolved_at = timezone.now()
    report.resolved_by = moderator
    report.save(update_fields=["status", "resolved_at", "resolved_by"])


def _decide(*, report_id: int, moderator, status: str, kind: str, note: str) -> Report:
    """Close one report with a decision and record it in the audit trail."""
    with transaction.atomic():
        row = Report.objects.select_for_update().get(pk=report_id)
        _resolve(row, status=status, moderator=moderator)
        ModerationAction.objects.create(
            kind=kind,
            moderator=moderator,
            target_identity=row.reported_identity,
            report=row,
            note=note,
        )
    return row


def dismiss_report(*, report_id: int, moderator, note: str = "") -> Report:
    return _decide(
        report_id=report_id,
        moderator=moderator,
        status=ReportStatus.DISMISSED,
        kind=ActionKind.DISMISS,
        note=note,
    )


def warn_from_report(*, report_id: int, moderator, note: str = "") -> Report:
    """Record a warning (it counts as an upheld report for karma)."""
    return _decide(
        report_id=report_id, moderator=moderator, status=ReportStatus.WARNED, kind=ActionKind.WARN, note=note
    )


def ban_from_report(*, report_id: int, moderator, days: int | None, note: str = "") -> Ban:
    """Ban the reported identity for ``days`` (None: forever); closes every open report about it."""
    if days is not None and days < 1:
        raise ValueError("days must be at least 1")
    with transaction.atomic():
        row = Report.objects.select_for_update().get(pk=report_id)
        until = None if days is None else timezone.now() + dt.timedelta(days=days)
        result = ban(
            identity_id=row.reported_identity,
            until=until,
            reason=f"{row.get_reason_display()} (report {row.pk})",
            moderator=moderator,
            ip_hash=row.reported_ip_hash or None,
            report=row,
            note=note,
        )
        _resolve(row, status=ReportStatus.BANNED, moderator=moderator)
        Report.objects.filter(reported_identity=row.reported_identity, status=ReportStatus.OPEN).update(
            status=ReportStatus.BANNED, resolved_at=timezone.now(), resolved_by=moderator
        )
    return result
