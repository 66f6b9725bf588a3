"""Leaderboard receivers: a deleted account leaves every board (its Like rows stay, with the user
cleared), and so does a banned one, at once (``moderation.signals.ban_issued``)."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from leaderboard import services
from moderation.signals import ban_issued

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="leaderboard.remove_deleted_user")
def remove_deleted_user(sender, instance, **kwargs) -> None:
    user_id = instance.pk

    def remove() -> None:
        try:
            services.remove_user(user_id=user_id)
        except redis.RedisError as exc:
            logger.warning("could not take deleted user %s off the boards (reconcile will): %s", user_id, exc)

    transaction.on_commit(remove, robust=True)


@receiver(ban_issued, dispatch_uid="leaderboard.remove_banned_user")
def remove_banned_user(sender, *, user_id: int | None, **kwargs) -> None:
    """Boards are rebuilt without banned users too; this makes it immediate."""
    if user_id is None:
        return
    try:
        services.remove_user(user_id=user_id)
    except redis.RedisError as exc:
        logger.warning("ban of user %s: not taken off the boards (reconcile will): %s", user_id, exc)
