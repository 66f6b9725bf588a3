"""Background work of the profiles app: thin doors into ``profiles.services``."""

from __future__ import annotations

from celery import shared_task

from profiles import services


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True)
def make_avatar_thumbnail(user_id: int) -> bool:
    return services.make_avatar_thumbnail(user_id=user_id)


@shared_task
def rebuild_block_sets() -> int:
    return services.rebuild_block_sets()
