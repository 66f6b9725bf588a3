"""Matching receivers: a ban takes the identity's ticket out of the pool at once (the matcher
skips banned ids anyway, and the identity's sockets are told through ``identity.banned``)."""

from __future__ import annotations

import logging

import redis
from django.dispatch import receiver

from matching import pool
from moderation.signals import ban_issued

log = logging.getLogger(__name__)


@receiver(ban_issued, dispatch_uid="matching.leave_pool_on_ban")
def leave_pool_on_ban(sender, *, identity_id: str, **kwargs) -> None:
    # Runs after a ban commits, in the sync thread that committed it: the pool's sync client.
    try:
        pool.leave_pool_sync(identity_id=identity_id)
    except (pool.MatchingUnavailable, redis.RedisError) as exc:
        log.warning(
            "ban %s: could not remove from the pool (the matcher skips banned ids): %s", identity_id, exc
        )
