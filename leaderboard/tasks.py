"""Celery doors into the leaderboard services. The beat schedule lives with the operations setup."""

from __future__ import annotations

import logging

from celery import shared_task

from leaderboard import services

logger = logging.getLogger(__name__)


@shared_task
def reconcile() -> dict:
    """Repair any drift between the sorted sets and Postgres (suggested: every 15 minutes)."""
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
def recompute_karma() -> int:
    """Recompute every profile's karma (suggested: nightly)."""
    changed = services.recompute_all_karma()
    logger.info("karma recomputed: %d profile(s) changed", changed)
    return changed
