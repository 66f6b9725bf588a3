"""Operations services: the writes behind the ops beat tasks, commands and Celery bookkeeping.

The top floor: it calls every app downward. Other apps' periodic tasks appear in
:data:`BEAT_SCHEDULE` by their Celery task name (``<app>.tasks.<function>``), which is data
for django-celery-beat, not an import.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from matching import services as matching_services
from moderation import services as moderation_services
from moderation.models import Ban, Report
from profiles import cache
from profiles import selectors as profile_selectors
from seendr import keys
from seendr.redis_state import state

log = logging.getLogger(__name__)

FAILURES_KEPT = 50
FAILURES_TTL_SECONDS = 7 * 24 * 3600


# --- Celery task outcomes ---------------------------------------------------------------------


def record_task_outcome(*, task: str, outcome: str, task_id: str = "", error: str = "") -> None:
    """Count one outcome (``success``, ``failure``, ``retry``, ``revoked``) of a task in Redis.

    Called from the worker's signal handlers; /metrics and the Live page read the counts, so one
    number covers every worker process. Never raises: bookkeeping must not fail a task.
    """
    try:
        client = state()
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(keys.celery_task_outcomes(), f"{task}|{outcome}", 1)
        if outcome == "failure":
            record = {"task": task, "id": task_id, "error": error[:300], "at": time.time()}
            pipe.lpush(keys.celery_recent_failures(), json.dumps(record))
            pipe.ltrim(keys.celery_recent_failures(), 0, FAILURES_KEPT - 1)
            pipe.expire(keys.celery_recent_failures(), FAILURES_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not count task outcome %s of %s: %s", outcome, task, exc)


# --- Beat jobs --------------------------------------------------------------------------------


def sweep_pool(*, now: float | None = None) -> dict[str, int]:
    """Drop ghost tickets from the matching pool (the matching app's sweep)."""
    return matching_services.sweep_pool(now=time.time() if now is None else now)


def warm_profile_cache(*, limit: int = 10_000, batch_size: int = 500) -> int:
    """Load the most recently active profiles into the cache; returns how many."""
    user_ids = profile_selectors.recently_active_user_ids(limit=limit)
    return sum(cache.warm(user_ids, batch_size=batch_size))


# Redis keys that must always expire, with the TTL to give one found without (a bug elsewhere,
# or a crash between SET and EXPIRE). The prefix of each family comes from the key module.
def _must_expire() -> tuple[tuple[str, int], ...]:
    return (
        (keys.idempotency("", "")[:-1], 24 * 3600),  # "<prefix>idem:"
        (keys.rate_limit("", "")[:-1], 24 * 3600),  # "<prefix>rl:"
    )


_SCAN_BATCH = 1000


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _give_missing_ttls(client: redis.Redis, *, prefix: str, ttl: int) -> int:
    """EXPIRE every key under ``prefix`` that has none; pipelined in batches (one round trip per
    thousand keys, not per key)."""
    fixed = 0
    batch: list[str] = []

    def flush() -> int:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.ttl(key)
        lacking = [key for key, left in zip(batch, pipe.execute(), strict=True) if left == -1]
        if lacking:
            pipe = client.pipeline(transaction=False)
            for key in lacking:
                pipe.expire(key, ttl)  # (not EXPIRE NX: that needs Redis 7, and 6.x servers exist)
            pipe.execute()
        batch.clear()
        return len(lacking)

    for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=_SCAN_BATCH):
        batch.append(key)
        if len(batch) >= _SCAN_BATCH:
            fixed += flush()
    if batch:
        fixed += flush()
    return fixed


def prune_expired(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Housekeeping: lapsed bans out of the banned set and old report evidence cleared (the
    moderation app's services), and any idempotency or rate-limit key found without a TTL given one.
    """
    summary: dict[str, int] = {
        "bans_pruned": int(moderation_services.prune_expired_bans()),
        "evidence_pruned": int(moderation_services.prune_evidence(now=now)),
    }
    client = state()
    summary["ttl_fixed"] = sum(_give_missing_ttls(client, prefix=p, ttl=ttl) for p, ttl in _must_expire())
    return summary


# --- Daily moderation summary -----------------------------------------------------------------


@dataclass(frozen=True)
class ModerationSummary:
    since: dt.datetime
    reports: dict[str, int]
    open_reports: int
    bans: int

    @property
    def total_reports(self) -> int:
        return sum(self.reports.values())


def moderation_summary(*, now: dt.datetime | None = None) -> ModerationSummary:
    """Reports by reason and bans of the last 24 hours, and the open queue."""
    report, ban = Report, Ban
    now = now or timezone.now()
    since = now - dt.timedelta(days=1)
    by_reason = dict(
        report.objects.filter(created__gte=since, created__lt=now)
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return ModerationSummary(
        since=since,
        reports={str(k): int(v) for k, v in by_reason.items()},
        open_reports=report.objects.filter(status="open").count(),
        bans=ban.objects.filter(created__gte=since, created__lt=now).count(),
    )


def summary_recipients() -> list[str]:
    if settings.OPS_SUMMARY_RECIPIENTS:
        return list(settings.OPS_SUMMARY_RECIPIENTS)
    users = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def send_moderation_summary(*, now: dt.datetime | None = None) -> int:
    """Mail yesterday's moderation numbers to staff; returns how many recipients got it.

    Raises on a mail failure so the task retries (with backoff and jitter).
    """
    summary = moderation_summary(now=now)
    recipients = summary_recipients()
    if not recipients:
        log.info("moderation summary: nobody to send it to")
        return 0
    lines = [
        f"Seendr moderation, the 24 hours since {summary.since:%Y-%m-%d %H:%M} UTC",
        "",
        f"Reports: {summary.total_reports}",
        *(f"  {reason}: {n}" for reason, n in sorted(summary.reports.items())),
        f"Bans issued: {summary.bans}",
        f"Open reports now: {summary.open_reports}",
    ]
    send_mail(
        subject=f"[Seendr] moderation summary: {summary.total_reports} reports, {summary.open_reports} open",
        message="\n".join(lines) + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=False,
    )
    return len(recipients)


# --- The beat schedule ------------------------------------------------------------------------


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: dict[str, str] | None = None
    kwargs: dict[str, Any] | None = None
    description: str = ""


# Editable in the admin (django-celery-beat) once installed: install_beat_schedule only creates
# missing entries and never overwrites an operator's change unless asked to (--reset).
BEAT_SCHEDULE: tuple[Periodic, ...] = (
    Periodic(
        "ops: sweep matching pool",
        "ops.tasks.sweep_pool_task",
        every_seconds=15,
        description="Drop ghost tickets and lapsed live matches from the pool.",
    ),
    Periodic(
        "ops: reconcile leaderboards",
        "leaderboard.tasks.reconcile_task",
        every_seconds=15 * 60,
        description="Repair drift between the leaderboard sorted sets and Postgres.",
    ),
    Periodic(
        "ops: recompute karma",
        "leaderboard.tasks.recompute_karma_task",
        crontab={"minute": "30", "hour": "3"},
        description="Nightly karma recompute.",
    ),
    Periodic(
        "ops: warm profile cache",
        "ops.tasks.warm_profile_cache_task",
        every_seconds=30 * 60,
        description="Load recently active profiles into the cache.",
    ),
    Periodic(
        "ops: prune expired data",
        "ops.tasks.prune_expired_task",
        every_seconds=60 * 60,
        description="Lapsed bans, old evidence, keys without a TTL.",
    ),
    Periodic(
        "ops: rebuild ban set",
        "moderation.tasks.rebuild_ban_set_task",
        every_seconds=6 * 60 * 60,
        description="Rebuild the Redis banned set from Postgres.",
    ),
    Periodic(
        "ops: daily moderation summary",
        "ops.tasks.send_moderation_summary_task",
        crontab={"minute": "0", "hour": "7"},
        description="Mail yesterday's moderation numbers to staff.",
    ),
)


@dataclass(frozen=True)
class InstallResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    disabled: list[str]  # entries whose task no worker knows (app not installed)


def install_beat_schedule(*, known_tasks: set[str] | None = None, reset: bool = False) -> InstallResult:
    """Create the periodic tasks of :data:`BEAT_SCHEDULE` in django-celery-beat's tables.

    Idempotent: run it on every deploy. An existing entry keeps the operator's edits (interval,
    enabled) unless ``reset``. An entry whose task is not in ``known_tasks`` is created disabled.
    """
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    disabled: list[str] = []
    with transaction.atomic():
        for entry in BEAT_SCHEDULE:
            known = known_tasks is None or entry.task in known_tasks
            if not known:
                disabled.append(entry.name)
            schedule: dict[str, Any]
            if entry.every_seconds is not None:
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=entry.every_seconds, period=IntervalSchedule.SECONDS
                )
                schedule = {"interval": interval, "crontab": None}
            else:
                cron, _ = CrontabSchedule.objects.get_or_create(
                    minute=entry.crontab.get("minute", "*"),
                    hour=entry.crontab.get("hour", "*"),
                    day_of_week=entry.crontab.get("day_of_week", "*"),
                    day_of_month=entry.crontab.get("day_of_month", "*"),
                    month_of_year=entry.crontab.get("month_of_year", "*"),
                    timezone="UTC",
                )
                schedule = {"crontab": cron, "interval": None}
            wanted = {
                "task": entry.task,
                "kwargs": json.dumps(entry.kwargs or {}),
                "description": entry.description,
                **schedule,
            }
            existing = PeriodicTask.objects.filter(name=entry.name).first()
            if existing is None:
                PeriodicTask.objects.create(name=entry.name, enabled=known, **wanted)
                created.append(entry.name)
            elif reset:
                for field, value in wanted.items():
                    setattr(existing, field, value)
                existing.enabled = known
                existing.save()
                updated.append(entry.name)
            else:
                changed = False
                if existing.task != entry.task:
                    existing.task = entry.task
                    changed = True
                if not known and existing.enabled:
                    existing.enabled = False
                    changed = True
                if changed:
                    existing.save()
                    updated.append(entry.name)
                else:
                    unchanged.append(entry.name)
    return InstallResult(created=created, updated=updated, unchanged=unchanged, disabled=disabled)
