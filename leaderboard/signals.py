"""A deleted account leaves every leaderboard (its Like rows stay, with the user cleared)."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="leaderboard.remove_deleted_user")
def remove_deleted_user(sender, instance, **kwargs) -> None:
    user_id = instance.pk

    def remove() -> None:
        from leaderboard.services import remove_user

        try:
            remove_user(user_id=user_id)
        except redis.RedisError as exc:
            logger.warning("could not take deleted user %s off the boards (reconcile will): %s", user_id, exc)

    transaction.on_commit(remove, robust=True)
