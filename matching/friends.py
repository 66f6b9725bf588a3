"""Friends on the live side: "add friend" from a match, the friend list with presence, removal.

Friendships are rows in ``profiles`` and pending requests are ``profiles.friend_requests``; this
module adds what only the live loop knows: which match a request is about and whether its
window is open (the pool's match record), and who is online or in a call right now (presence
and the pool, read for the whole list in one Redis round trip).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.translation import gettext as _

from matching.types import FrameError
from profiles import friend_requests
from profiles import selectors as profile_selectors
from profiles import services as profile_services
from seendr import keys, pool_shards
from seendr.identity import Identity, user_identity_id
from seendr.redis_state import astate, batched, state

log = logging.getLogger(__name__)


def window_seconds() -> float:
    return float(settings.FRIEND_REQUEST_WINDOW_SECONDS)


# --- Asking, from a socket -------------------------------------------------------------------


async def ask(*, identity: Identity, match_id: str, partner_id: str, now: float) -> friend_requests.AskResult:
    """``identity`` asks to befriend the partner of ``match_id`` (the socket's current or last match).

    Raises FrameError ``not_matched`` when the match is unknown to Redis or ``window_closed`` when
    it ended more than ``FRIEND_REQUEST_WINDOW_SECONDS`` ago. A guest's ask is kept (it carries
    over if they sign up in time); the caller answers it with ``needs_account``.
    """
    record = await astate().hgetall(keys.live_match(match_id))
    if not record or identity.id not in (record.get("a"), record.get("b")):
        raise FrameError("not_matched", _("There is no current or recent partner."))
    ended_at = record.get("ended_at")
    if ended_at is not None:
        expires_at = float(ended_at) + window_seconds()
        if now > expires_at:
            minutes = int(window_seconds() // 60)
            raise FrameError(
                "window_closed",
                _("You can add someone only within %(minutes)d minutes of meeting.") % {"minutes": minutes},
            )
    else:
        # Live: a backstop, in case the end is never recorded; close_request_window sets the real one.
        expires_at = now + max(window_seconds(), float(settings.MATCH_ENDED_TTL_SECONDS))
    return await database_sync_to_async(friend_requests.ask)(
        match_id=match_id,
        asker_id=identity.id,
        asker_user_id=identity.user_id,
        partner_id=partner_id,
        expires_at=expires_at,
    )


async def close_request_window(*, match_id: str, ended_at: float) -> None:
    """The match ended: its pending friend requests (if any) expire when the window closes."""
    await batched([("EXPIREAT", keys.friend_asks(match_id), int(ended_at + window_seconds()) + 1)])


async def is_online(*, identity_id: str, now: float) -> bool:
    score = await astate().zscore(keys.presence_online(), identity_id)
    return score is not None and float(score) >= now - settings.PRESENCE_WINDOW_SECONDS


@database_sync_to_async
def card(*, user_id: int) -> dict[str, Any] | None:
    """``{"user_id", "username", "name"}`` of an active account, else None."""
    record = profile_selectors.get_cards(user_ids=[user_id]).get(user_id)
    return friend_requests.friend_card(record) if record is not None else None


ALREADY = friend_requests.ALREADY


async def confirmation(*, user_id: int, now: float) -> dict[str, Any] | None:
    """``friend_added`` about an existing friend, for the asker alone (None: no such account now)."""
    friend = await card(user_id=user_id)
    if friend is None:
        return None
    online = await is_online(identity_id=user_identity_id(user_id), now=now)
    return added_frame(friend=friend, online=online)


def added_frame(*, friend: dict[str, Any], online: bool) -> dict[str, Any]:
    """``friend_added`` as the protocol names it."""
    return {
        "type": "friend_added",
        "friend": {"username": friend["username"], "name": friend["name"], "online": online},
    }


def request_frame(*, event: dict[str, Any]) -> dict[str, Any]:
    """``friend_request_received`` from a ``friends.asked`` message."""
    sender = event["from"]
    return {
        "type": "friend_request_received",
        "match_id": event["match_id"],
        "from": {"username": sender["username"], "name": sender["name"]},
    }


# --- The list ------------------------------------------------------------------------------


def friend_list(*, user_id: int, now: float | None = None) -> list[dict[str, Any]]:
    """``[{"username", "name", "online", "in_call"}]`` of an account's friends, online first.

    Banned and deactivated friends are left out. Presence, bans and calls of the whole list are
    one pipelined Redis round trip (ZMSCORE over presence and the banned set, a GET per
    current-match key: a Cluster pipeline refuses MGET), whatever the number of friends.
    """
    now = time.time() if now is None else now
    ids = profile_selectors.friend_user_ids(user_id=user_id)
    records = profile_selectors.get_cards(user_ids=ids)  # inactive accounts are absent
    ids = [i for i in ids if i in records]
    if not ids:
        return []
    identity_ids = [user_identity_id(i) for i in ids]
    pipe = state().pipeline(transaction=False)
    pipe.zmscore(keys.presence_online(), identity_ids)
    pipe.zmscore(keys.banned(), identity_ids)
    shards = pool_shards.names()  # a friend's match is in the shard it formed in
    for shard in shards:
        for identity_id in identity_ids:
            pipe.get(keys.current_match(identity_id, shard))
    seen, bans, *current = pipe.execute()
    per_shard = [current[k * len(identity_ids) : (k + 1) * len(identity_ids)] for k in range(len(shards))]
    matches = [next((m for m in found if m is not None), None) for found in zip(*per_shard, strict=True)]
    since = now - settings.PRESENCE_WINDOW_SECONDS
    friends = []
    for user_id_, seen_at, banned_until, match_id in zip(ids, seen, bans, matches, strict=True):
        if banned_until is not None and float(banned_until) > now:
            continue
        online = seen_at is not None and float(seen_at) >= since
        record = records[user_id_]
        friends.append(
            {
                "username": record["username"],
                "name": record["display_name"] or record["username"],
                "online": online,
                "in_call": online and match_id is not None,
            }
        )
    friends.sort(key=lambda f: (not f["online"], f["in_call"], f["name"].lower()))
    return friends


def remove_friend(*, user_id: int, username: str) -> bool:
    """End the friendship with ``username`` for both at once; both sockets hear of it.

    False when there is no such friend (or no such account): the caller answers 404 either way.
    """
    record = profile_selectors.get_profile_record(username=username)
    if record is None or not profile_services.unfriend(user_id=user_id, other_user_id=record["user_id"]):
        return False
    me = profile_selectors.get_cards(user_ids=[user_id]).get(user_id)
    layer = get_channel_layer()
    messages = [(user_identity_id(user_id), record["username"])]
    if me is not None:
        messages.append((user_identity_id(record["user_id"]), me["username"]))
    for identity_id, gone in messages:
        try:
            async_to_sync(layer.group_send)(
                keys.identity_group(identity_id), {"type": "friends.removed", "username": gone}
            )
        except Exception:  # the row is gone; an open page catches up on its next poll
            log.warning("could not tell %s about a removed friend", identity_id, exc_info=True)
    return True
