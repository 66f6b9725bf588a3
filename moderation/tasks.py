"""Trust and safety background work. Thin: each task calls one service.

Each task imports its service in its body: the services import this module at the top to enqueue
(``x_task.delay_on_commit``), so imports between the two run one way.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def check_auto_suspend_task(identity_id: str) -> bool:
    """Enqueued after a report commits: suspend the reported identity at the threshold."""
    from moderation import services

    return services.check_auto_suspend(identity_id=identity_id) is not None


@shared_task
def rebuild_ban_set_task() -> int:
    from moderation import services

    return services.rebuild_ban_set()
