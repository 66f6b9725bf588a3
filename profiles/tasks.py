"""Background work of the profiles app: thin doors into ``profiles.services``.

Each task imports its service in its body: the services import this module at the top to enqueue
(``x_task.delay_on_commit``), so imports between the two run one way.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, max_retries=3, autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True)
def make_avatar_thumbnail_task(user_id: int) -> bool:
    from profiles import services

    return services.make_avatar_thumbnail(user_id=user_id)
