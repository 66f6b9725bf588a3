"""Post-match actions, one home each: like, report and block the partner of a match.

The chat socket's ``like``/``report``/``block`` frames and the ``/api/matches/<id>/*`` endpoints
both come here; each action calls the app that owns its data, downward: leaderboard records a
like, moderation files a report (with the evidence matching holds), profiles stores a block.
Refusals are ``ServiceError``s, answered the same way by every door.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from leaderboard import services as leaderboard_services
from matching import evidence
from moderation import services as moderation_services
from profiles import services as profile_services
from seendr import keys
from seendr.identity import Identity

log = logging.getLogger(__name__)


def like_partner(*, match_id: str, liker: Identity, partner_id: str) -> bool:
    """True if this like is new (one per liker per match)."""
    return leaderboard_services.like_partner(match_id=match_id, liker=liker, liked_id=partner_id)


def tell_liked(*, match_id: str, partner_id: str) -> None:
    """After commit, tell the partner's open sockets (any instance) that they were liked.

    The chat consumer answers ``partner.liked`` with ``{"type": "you_were_liked"}``. Used by the
    HTTP like; the socket's own like notifies the partner's channel directly.
    """

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(
                keys.identity_group(partner_id), {"type": "partner.liked", "match_id": match_id}
            )
        except Exception:
            log.warning("could not tell %s about a like", partner_id, exc_info=True)

    transaction.on_commit(send, robust=True)


def report_partner(
    *,
    match_id: str,
    reporter: Identity,
    partner_id: str,
    reason: str,
    note: str,
    snapshot: bytes | None = None,
) -> bool:
    """File the report with what matching holds about the match (and, for nudity, the reporter's
    snapshot of the partner's video); True if new. Reporting blocks."""
    return moderation_services.report(
        match_id=match_id,
        reporter=reporter,
        reported_id=partner_id,
        reason=reason,
        note=note,
        evidence=evidence.collect(match_id=match_id),
        snapshot=snapshot,
    )


def block_partner(*, blocker_id: str, partner_id: str) -> None:
    profile_services.block(blocker_id=blocker_id, blocked_id=partner_id)
