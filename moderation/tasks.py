"""Trust and safety background work. Thin: each task calls one service.

Each task imports its service in its body, so imports between the two run one way (services
import a task at the top when they enqueue one). Automatic suspension is not here on purpose: it
is decided on the report's request path (``services.report``), never left to a queue.
"""

from __future__ import annotations

from celery import shared_task


@shared_task
def rebuild_ban_set_task() -> int:
    from moderation import services

    return services.rebuild_ban_set()
