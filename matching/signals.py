"""Matching receivers: a ban takes the identity's ticket out of the pool at once (the matcher
skips banned ids anyway, and the identity's sockets are told through ``identity.banned``)."""

from __future__ import annotations

import logging

import redis
from django.dispatch import receiver

from matching import services
from matching.types import MatchingUnavailable
from moderation.signals import ban_issued

log = logging.getLogger(__name__)


@receiver(ban_issued, dispatch_uid="matching.leave_pool_on_ban")
def leave_pool_on_ban(sender, *, identity_id: str, **kwargs) -> None:
    # Runs after a ban commits, in the sync thread that committed it: a sync service.
    try:
        services.remove_from_pool(identity_id=identity_id)
    except (MatchingUnavailable, redis.RedisError) as exc:
        log.warning(
            "ban %s: could not remove from the pool (the matcher skips banned ids): %s", identity_id, exc
        )
