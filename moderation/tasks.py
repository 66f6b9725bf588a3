"""Trust and safety background work. Thin: each task calls one service."""

from __future__ import annotations

from celery import shared_task

from moderation import services


@shared_task
def prune_expired_bans() -> int:
    return services.prune_expired_bans()


@shared_task
def rebuild_ban_set() -> int:
    return services.rebuild_ban_set()
