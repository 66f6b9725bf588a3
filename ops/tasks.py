"""Operations tasks run by Celery beat (schedule: ``ops.services.BEAT_SCHEDULE``), and the
worker signal handlers that count every task's outcome for /metrics and the admin Live page.

Thin: each task calls one service in ``ops.services``, imported in the task's body, as every
app's tasks do (services import their tasks module at the top to enqueue, so imports run one way).
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task, signals

log = logging.getLogger(__name__)

# --- Outcome counting (runs in the worker process) --------------------------------------------


def _name(sender: object, request: object = None) -> str:
    return str(getattr(sender, "name", None) or getattr(request, "task", None) or sender or "unknown")


@signals.task_success.connect
def _on_success(sender=None, **_: object) -> None:
    from ops import services

    services.record_task_outcome(task=_name(sender), outcome="success")


@signals.task_failure.connect
def _on_failure(sender=None, task_id=None, exception=None, **_: object) -> None:
    from ops import services

    services.record_task_outcome(
        task=_name(sender), outcome="failure", task_id=str(task_id or ""), error=repr(exception)
    )


@signals.task_retry.connect
def _on_retry(sender=None, request=None, **_: object) -> None:
    from ops import services

    services.record_task_outcome(task=_name(sender, request), outcome="retry")


@signals.task_revoked.connect
def _on_revoked(sender=None, request=None, **_: object) -> None:
    from ops import services

    services.record_task_outcome(task=_name(sender, request), outcome="revoked")


# --- Beat tasks -------------------------------------------------------------------------------


# Short expiry: a sweep that waited in the queue longer than two periods is pointless.
@shared_task(expires=30, time_limit=60, soft_time_limit=50)
def sweep_pool_task() -> dict[str, int]:
    from ops import services

    summary = services.sweep_pool()
    if summary.get("removed") or summary.get("live_expired"):
        log.info("pool sweep: %s", summary)
    return summary


@shared_task(expires=25 * 60)
def warm_profile_cache_task(limit: int = 10_000) -> int:
    from ops import services

    warmed = services.warm_profile_cache(limit=limit)
    log.info("profile cache warmed: %d profiles", warmed)
    return warmed


@shared_task(expires=55 * 60)
def prune_expired_task() -> dict[str, int]:
    from ops import services

    summary = services.prune_expired()
    log.info("prune: %s", summary)
    return summary


# Mail servers fail transiently: retry with exponential backoff (2, 4, 8 ... up to 10 minutes),
# randomised (jitter) so many workers do not retry in step. Idempotent enough: a retry after a
# partial SMTP failure may mail a recipient twice, never zero times.
@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
    acks_late=True,
)
def send_moderation_summary_task() -> int:
    from ops import services

    return services.send_moderation_summary()
