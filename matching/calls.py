"""Direct calls between friends: ring, answer, and end a ringing call.

A call is Redis state under the pool's hash tag (``keys.call``, one ``keys.call_line`` per side),
written and ended by Lua scripts so that a call is answered or ended exactly once. With pool
shards every call lives in the default shard (``other``), and so does the match it becomes: its
two people may have different home shards, and the sessions (not this script) refuse a call to
or from someone in a match elsewhere:

* :func:`ring` (``lua/call_ring.lua``): both people free (no match, no other call) -> the call
  rings; the caller's socket tells the callee's socket (on any server) through the channel layer;
* :func:`accept` (``lua/call_answer.lua``): the call becomes an ordinary live match with stage
  ``"friend"`` (the callee is the initiator), so WebRTC, chat, likes, reports, heartbeats and
  history work as for any match;
* :func:`end_call` (``lua/call_end.lua``): declined, timeout, cancelled or unavailable.

The 30 s timeout fires even when nobody sends anything: the caller's socket runs a timer for
``CALL_RING_SECONDS``; the callee's socket runs one a little longer in case the caller's server
died; and the call and line keys expire on their own a few seconds after that, so a call whose
servers both died frees both people.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from matching.types import STAGE_FRIEND, FrameError, MatchingUnavailable, Pairing
from profiles import selectors as profile_selectors
from seendr import keys, pool_shards
from seendr.identity import Identity, user_identity_id
from seendr.redis_state import astate, lua

CALLER, CALLEE = "caller", "callee"
DECLINED, TIMEOUT, CANCELLED, UNAVAILABLE = "declined", "timeout", "cancelled", "unavailable"
# The callee's own timer and the keys' expiry come this long after the caller's timer.
GRACE_SECONDS = 3.0
ENDED_CALL_TTL_SECONDS = 60


@dataclass(frozen=True)
class Call:
    """A ringing call seen from one side: ``peer`` is the other person."""

    call_id: str
    role: str  # CALLER or CALLEE
    peer_id: str
    peer_channel: str
    peer_username: str
    peer_name: str
    expires_at: float  # when it ends unanswered (unix seconds)


def ring_seconds() -> float:
    return float(settings.CALL_RING_SECONDS)


def _ttl() -> int:
    return int(ring_seconds() + 2 * GRACE_SECONDS) + 1


def _sides(call: Call, me: str) -> tuple[str, str]:
    """(caller id, callee id) of a call seen by ``me``."""
    return (me, call.peer_id) if call.role == CALLER else (call.peer_id, me)


def _not_available() -> FrameError:
    # One answer for "not a friend", "no such user", "offline", "banned" and "busy": nobody
    # learns from it whether a non-friend exists or is online.
    return FrameError("not_available", _("They can't take a call right now."))


def _records(user_id: int, username: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the friend's cached record, the caller's), or None when ``username`` is not a friend."""
    record = profile_selectors.get_profile_record(username=username)
    if record is None or record["user_id"] == user_id:
        return None
    if not profile_selectors.are_friends(user_id=user_id, other_user_id=record["user_id"]):
        return None
    mine = profile_selectors.get_cards(user_ids=[user_id]).get(user_id)
    return (record, mine) if mine is not None else None


async def ring(*, caller: Identity, caller_channel: str, username: str, now: float) -> tuple[Call, dict]:
    """Ring the friend ``username``: the call as the caller sees it, and the ``call.incoming``
    message for the callee's socket. Raises FrameError ``needs_account``, ``not_available``,
    ``already_matched`` or ``rate_limited`` (they declined a moment ago)."""
    if caller.user_id is None:
        raise FrameError("needs_account", _("Calls are for accounts: sign up to call your friends."))
    found = await database_sync_to_async(_records)(caller.user_id, username)
    if found is None:
        raise _not_available()
    record, mine = found
    callee_id = user_identity_id(record["user_id"])
    client = astate()
    async with client.pipeline(transaction=False) as pipe:
        pipe.zscore(keys.banned(), callee_id)
        pipe.get(keys.socket_owner(callee_id))
        pipe.ttl(keys.call_declined(caller.id, callee_id))
        banned, callee_channel, declined_ttl = await pipe.execute()
    if (banned is not None and float(banned) > now) or not callee_channel:
        raise _not_available()
    if declined_ttl and int(declined_ttl) > 0:
        raise FrameError(
            "rate_limited",
            _("%(name)s declined your call. You can call again in %(seconds)d s.")
            % {"name": record["display_name"], "seconds": int(declined_ttl)},
            retry_after=int(declined_ttl),
        )
    call_id = uuid.uuid4().hex
    reply = await lua("matching", "call_ring").arun(
        client,
        [
            keys.current_match(caller.id),
            keys.current_match(callee_id),
            keys.call_line(caller.id),
            keys.call_line(callee_id),
            keys.call(call_id),
        ],
        [caller.id, callee_id, caller_channel, callee_channel, repr(float(now)), _ttl(), call_id],
    )
    if reply == "caller_busy":
        raise FrameError("already_matched", _("You are in a match or already calling: finish that first."))
    if reply != "ok":
        raise _not_available()
    call = Call(
        call_id=call_id,
        role=CALLER,
        peer_id=callee_id,
        peer_channel=callee_channel,
        peer_username=record["username"],
        peer_name=record["display_name"] or record["username"],
        expires_at=now + ring_seconds(),
    )
    invite = {
        "type": "call.incoming",
        "call_id": call_id,
        "caller_id": caller.id,
        "caller_channel": caller_channel,
        "from": {"username": mine["username"], "name": mine["display_name"] or mine["username"]},
        "expires_at": call.expires_at,
    }
    return call, invite


def incoming(*, event: dict[str, Any]) -> Call:
    """The callee's view of a call from the caller's ``call.incoming`` message."""
    return Call(
        call_id=str(event["call_id"]),
        role=CALLEE,
        peer_id=str(event["caller_id"]),
        peer_channel=str(event["caller_channel"]),
        peer_username=str(event["from"]["username"]),
        peer_name=str(event["from"]["name"]),
        expires_at=float(event["expires_at"]),
    )


async def end_call(*, call: Call, me: str, reason: str) -> str:
    """End a ringing call once: ``"ended"`` when this call ended it, else the call's state,
    ``"accepted"`` (answered a moment ago: the match is on its way) or ``"gone"`` (ended by the
    other side or its timer, or expired). A decline keeps the caller from ringing the callee
    again for ``CALL_DECLINED_COOLDOWN_SECONDS``."""
    caller_id, callee_id = _sides(call, me)
    may = {DECLINED: CALLEE, CANCELLED: CALLER}.get(reason, "either")
    (state,) = await lua("matching", "call_end").arun(
        astate(),
        [keys.call(call.call_id), keys.call_line(caller_id), keys.call_line(callee_id)],
        [call.call_id, reason, me, may, ENDED_CALL_TTL_SECONDS],
    )
    if state == "ended" and reason == DECLINED:
        await astate().set(
            keys.call_declined(caller_id, callee_id), "1", ex=int(settings.CALL_DECLINED_COOLDOWN_SECONDS)
        )
    return "gone" if state == "forbidden" else state


class CallGone(Exception):
    """The call is no longer ringing (answered, ended, or expired)."""


class CallBusy(Exception):
    """One side got into a match while it rang: the call ended as ``unavailable``."""


async def accept(*, call: Call, me: str, my_channel: str, my_card: str, now: float) -> Pairing:
    """The callee accepts: the call becomes a live match. Raises CallGone or CallBusy."""
    caller_id, callee_id = _sides(call, me)
    try:
        reply = await lua("matching", "call_answer").arun(
            astate(),
            [
                keys.call(call.call_id),
                keys.call_line(caller_id),
                keys.call_line(callee_id),
                keys.current_match(caller_id),
                keys.current_match(callee_id),
                keys.pool_live_matches(),
            ],
            [
                keys.pool_tag(),
                call.call_id,
                me,
                repr(float(now)),
                pool_shards.new_match_id(pool_shards.default()),
                int(settings.MATCH_CURRENT_TTL_SECONDS),
                ENDED_CALL_TTL_SECONDS,
                my_channel,
                my_card,
            ],
        )
    except redis.RedisError as exc:
        raise MatchingUnavailable("Calls are temporarily unavailable.") from exc
    if reply[0] == "gone":
        raise CallGone()
    if reply[0] == "busy":
        raise CallBusy()
    _, match_id, partner_id, partner_channel, started_at = reply
    return Pairing(
        match_id=match_id,
        partner_id=partner_id,
        partner_channel=partner_channel,
        initiator=True,
        common_interests=(),
        stage=STAGE_FRIEND,
        started_at=float(started_at),
        waited_seconds=0.0,
        partner_waited_seconds=0.0,
    )


def found_message(*, pairing: Pairing, call_id: str, my_id: str, my_channel: str, my_card: str) -> dict:
    """The ``match.found`` the callee's socket sends the caller's once the call became a match
    (the same shape the matcher's initiator sends, plus the ``call_id``)."""
    return {
        "type": "match.found",
        "match_id": pairing.match_id,
        "partner_id": my_id,
        "partner_channel": my_channel,
        "card": my_card,
        "common": "",
        "stage": pairing.stage,
        "started_at": pairing.started_at,
        "waited": 0.0,
        "partner_waited": 0.0,
        "call_id": call_id,
    }


def ended_message(*, call: Call, reason: str) -> dict:
    """The channel-layer message that tells the other side a ringing call ended."""
    return {"type": "call.ended", "call_id": call.call_id, "reason": reason}


def ended_frame(*, call: Call, reason: str) -> dict:
    return {"type": "call_ended", "call_id": call.call_id, "reason": reason}
