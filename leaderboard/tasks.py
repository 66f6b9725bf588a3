"""Celery doors into the leaderboard services. The beat schedule lives with the operations setup.

Each task imports its service in its body: the services import this module at the top to enqueue
(``x_task.delay_on_commit``), so imports between the two run one way.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def reconcile_task() -> dict:
    """Repair any drift between the sorted sets and Postgres (suggested: every 15 minutes)."""
    from leaderboard import services

    summary = services.reconcile_boards()
    logger.info(
        "leaderboard reconcile: %d boards, %d members checked, %d fixed",
        summary.boards,
        summary.checked,
        summary.fixed,
    )
    return {
        "boards": summary.boards,
        "checked": summary.checked,
        "fixed": summary.fixed,
        "drift": summary.drift,
    }


@shared_task
def recompute_karma_task() -> int:
    """Recompute every profile's karma (suggested: nightly)."""
    from leaderboard import services

    changed = services.recompute_all_karma()
    logger.info("karma recomputed: %d profile(s) changed", changed)
    return changed
