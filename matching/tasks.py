"""Celery tasks of the matching app: thin doors into ``matching.services``.

Each task imports its service in its body: the services import this module at the top to enqueue
(``x_task.delay_on_commit``), so imports between the two run one way.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import DatabaseError


@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
)
def record_match_task(payload: dict[str, Any]) -> bool:
    """Write one ended match to Postgres. Safe to run twice: the match id is the primary key.

    Nothing enqueues this any more (each web process writes its history itself, see
    ``matching/history.py``); it stays registered so messages an older release queued still drain.
    """
    from matching import services

    _, created = services.record_match(**payload)
    return created
