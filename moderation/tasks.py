"""Trust and safety background work. Thin: each task calls one service."""

from __future__ import annotations

from celery import shared_task

from moderation import services


@shared_task(acks_late=True)
def check_auto_suspend(identity_id: str) -> bool:
    """Enqueued after a report commits: suspend the reported identity at the threshold."""
    return services.check_auto_suspend(identity_id=identity_id) is not None


@shared_task
def prune_expired_bans() -> int:
    return services.prune_expired_bans()


@shared_task
def rebuild_ban_set() -> int:
    return services.rebuild_ban_set()
