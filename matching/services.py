"""Services of the chat socket: identities, socket ownership, relays, ending matches, history.

The consumer (``matching/consumers.py``) validates frames and calls these; the pool
(``matching/pool.py``) owns the atomic matching state. Everything here that talks to Redis is
asyncio (``astate()``) except the history writer, which runs in a Celery worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from leaderboard import services as leaderboard_services
from matching import pool, presence
from matching.models import NAME_MAX_LENGTH, EndReason, Match
from matching.tasks import record_match_task
from moderation import services as moderation_services
from profiles import interests as interest_tags
from profiles import selectors as profile_selectors
from seendr import identity as identities
from seendr import keys
from seendr.identity import IDENTITY_ID_MAX_LENGTH, Identity
from seendr.redis_state import aexecute_with_scripts, astate, lua

log = logging.getLogger(__name__)

# What the partner is told when a match ends. A report or a block is not disclosed to the
# person reported or blocked: they see an ordinary "leave".
PARTNER_REASONS = {
    EndReason.NEXT: "next",
    EndReason.LEAVE: "leave",
    EndReason.DISCONNECT: "disconnect",
    EndReason.BANNED: "banned",
    EndReason.REPORT: "leave",
    EndReason.BLOCK: "leave",
}

# Fire-and-forget work (task enqueueing) must not be garbage-collected while it runs.
_background: set[asyncio.Future] = set()


# --- Identities -----------------------------------------------------------------------------


identity_from_scope = database_sync_to_async(identities.from_scope)


def _fallback_card(identity: Identity) -> dict[str, Any]:
    return {"name": identity.name, "guest": identity.guest, "country": "", "interests": [], "likes": 0}


def card_for_sync(identity: Identity) -> dict[str, Any]:
    """The public card (``name, guest, country, interests, likes``) of an identity.

    Degrades to name-only when the profile store is away: a match must still start.
    """
    try:
        card = dict(profile_selectors.get_card(identity=identity))
    except Exception:  # the card is decoration; the call goes on without it
        log.warning("partner card for %s unavailable", identity.id, exc_info=True)
        return _fallback_card(identity)
    for field, default in _fallback_card(identity).items():
        card.setdefault(field, default)
    return card


def card_for_id_sync(identity_id: str) -> dict[str, Any]:
    """The card of a partner known only by id.

    An account's card comes from the profile cache without touching Postgres; only when the
    cache has no record (and so no name) is the account looked up.
    """
    user_id = identities.user_id_from_identity(identity_id)
    if user_id is not None:
        card = card_for_sync(Identity(id=identity_id, name="", guest=False, user_id=user_id))
        if card.get("name"):
            return card
    try:
        identity = identities.for_id(identity_id)
    except Exception:  # see card_for_sync
        log.warning("identity %s unavailable", identity_id, exc_info=True)
        identity = None
    if identity is None:
        identity = Identity(id=identity_id, name="Someone", guest=user_id is None, user_id=user_id)
    return card_for_sync(identity)


card_for = database_sync_to_async(card_for_sync)
card_for_id = database_sync_to_async(card_for_id_sync)


# --- Bans and the one-socket rule -----------------------------------------------------------


async def ban_until(*, identity_id: str, now: float, network: str = "") -> float | None:
    """The expiry (unix seconds) of a ban in force on this identity or on the network it comes
    from, else None. One Redis round trip; Postgres decides when the mirror was lost (an empty
    restart) or when an account meets a banned network (only accounts newer than the ban)."""
    pipe = astate().pipeline(transaction=False)
    pipe.exists(keys.ban_mirror_ready())
    pipe.zscore(keys.banned(), identity_id)
    pipe.zscore(keys.banned_networks(), network or "-")
    ready, own, on_network = await pipe.execute()
    if ready:
        if own is not None and float(own) > now:
            return float(own)
        if on_network is None or float(on_network) <= now:
            return None
        if identity_id.startswith("g"):
            return float(on_network)
    return await database_sync_to_async(moderation_services.ban_expiry)(
        identity_id=identity_id, network=network, now=now
    )


def until_iso(until: float | None) -> str | None:
    """A ban expiry as ISO 8601 UTC, or None for a permanent ban."""
    if until is None or math.isinf(until):
        return None
    return datetime.fromtimestamp(until, tz=UTC).isoformat()


async def claim_socket(*, identity_id: str, channel_name: str) -> None:
    """Record this channel as the identity's one chat socket (the newest wins)."""
    await astate().set(keys.socket_owner(identity_id), channel_name, ex=settings.CHAT_SOCKET_TTL_SECONDS)


async def socket_owner(*, identity_id: str) -> str | None:
    return await astate().get(keys.socket_owner(identity_id))


async def refresh_socket(*, identity_id: str, channel_name: str) -> bool:
    """Heartbeat of the socket record. False when a newer socket owns the identity."""
    result = await lua("matching", "socket_refresh").arun(
        astate(), [keys.socket_owner(identity_id)], [channel_name, settings.CHAT_SOCKET_TTL_SECONDS]
    )
    return bool(int(result))


@dataclass(frozen=True)
class SocketBeat:
    """One socket's part of a process-wide heartbeat (:func:`heartbeat_sockets`)."""

    identity_id: str
    channel_name: str
    in_pool: bool = False  # waiting or matched: its ticket / match TTLs are refreshed too
    partner_id: str | None = None  # matched: whose socket record to check
    partner_channel: str | None = None
    match_id: str | None = None


@dataclass(frozen=True)
class BeatResult:
    owned: bool  # False: a newer socket owns the identity (the socket must close, 4409)
    partner_suspect: bool  # matched, and the match or the partner's socket record is gone


async def heartbeat_sockets(*, sockets: Sequence[SocketBeat], now: float) -> list[BeatResult]:
    """The heartbeat of every chat socket of one process in a single pipelined round trip.

    Per socket the same work as one socket's beat: refresh its socket record (``socket_refresh``),
    its ticket / current match (``heartbeat``) when in the pool, its presence; and for a matched
    socket read its current match and its partner's socket record, so that only a socket whose
    partner looks gone goes on to the (locked, re-checked) per-socket partner check.
    """
    if not sockets:
        return []
    refresh = lua("matching", "socket_refresh")
    beat = lua("matching", "heartbeat")
    client = astate()

    async def send() -> list:
        async with client.pipeline(transaction=False) as pipe:
            for s in sockets:
                refresh.queue(
                    pipe,
                    [keys.socket_owner(s.identity_id)],
                    [s.channel_name, settings.CHAT_SOCKET_TTL_SECONDS],
                )
            for s in sockets:
                if s.in_pool:
                    beat.queue(pipe, *pool.heartbeat_call(identity_id=s.identity_id, now=now))
            for s in sockets:
                if s.partner_id is not None:
                    pipe.get(keys.current_match(s.identity_id))
                    pipe.get(keys.socket_owner(s.partner_id))
            presence.queue_touch(pipe, identity_ids=[s.identity_id for s in sockets], now=now)
            return await pipe.execute(raise_on_error=False)

    replies = await aexecute_with_scripts(client, [refresh, beat], send)
    owned = [bool(int(r)) for r in replies[: len(sockets)]]
    reads = iter(replies[len(sockets) + sum(1 for s in sockets if s.in_pool) :])
    results = []
    for s, mine in zip(sockets, owned, strict=True):
        suspect = False
        if s.partner_id is not None:
            current, partner_owner = next(reads), next(reads)
            suspect = current != s.match_id or partner_owner != s.partner_channel
        results.append(BeatResult(owned=mine, partner_suspect=suspect))
    return results


async def release_socket(*, identity_id: str, channel_name: str) -> bool:
    """Forget the socket record if it is still this channel's."""
    result = await lua("matching", "socket_release").arun(
        astate(), [keys.socket_owner(identity_id)], [channel_name]
    )
    return bool(int(result))


async def partner_alive(*, partner_id: str, partner_channel: str) -> bool:
    """Whether the partner's socket still holds its record (its server beats every few seconds).

    A Redis error answers True: a call is never ended on a guess.
    """
    try:
        return await socket_owner(identity_id=partner_id) == partner_channel
    except redis.RedisError:
        return True


# --- Relays ---------------------------------------------------------------------------------


async def relay_signal(*, channel_layer: Any, match_id: str, partner_channel: str, data: dict) -> None:
    """Pass an offer/answer/ICE candidate to the one channel on record for the partner."""
    await channel_layer.send(partner_channel, {"type": "relay.signal", "match_id": match_id, "data": data})


async def relay_chat(
    *, channel_layer: Any, match_id: str, partner_channel: str, sender_id: str, text: str, now: float
) -> None:
    """Pass a chat line to the partner and keep it in the match transcript (report evidence)."""
    await channel_layer.send(partner_channel, {"type": "relay.chat", "match_id": match_id, "text": text})
    try:
        await record_chat_line(match_id=match_id, sender_id=sender_id, text=text, now=now)
    except redis.RedisError:
        log.warning("transcript of %s not recorded", match_id, exc_info=True)


async def record_chat_line(*, match_id: str, sender_id: str, text: str, now: float) -> None:
    """LPUSH a line (newest first), keep the last ``CHAT_TRANSCRIPT_LINES``, refresh the TTL."""
    key = keys.transcript(match_id)
    line = json.dumps({"from": sender_id, "at": round(now, 3), "text": text}, ensure_ascii=False)
    async with astate().pipeline(transaction=True) as pipe:
        pipe.lpush(key, line)
        pipe.ltrim(key, 0, settings.CHAT_TRANSCRIPT_LINES - 1)
        pipe.expire(key, settings.CHAT_TRANSCRIPT_TTL_SECONDS)
        await pipe.execute()


async def notify_partner(*, channel_layer: Any, partner_channel: str, message: dict) -> None:
    """Send a server message to a partner's socket; a lost partner is not the caller's error."""
    try:
        await channel_layer.send(partner_channel, message)
    except Exception:  # the caller's own reply must still go out
        log.warning("could not reach partner channel %s", partner_channel, exc_info=True)


# --- Ending a match -------------------------------------------------------------------------


async def finish_match(
    *,
    identity_id: str,
    reason: str,
    now: float,
    channel_layer: Any,
    ended_by: str | None = None,
    names: dict[str, str] | None = None,
) -> pool.EndedMatch | None:
    """End the caller's live match, tell the partner at once, and queue the history write.

    ``reason`` is an :class:`EndReason` value; ``ended_by`` defaults to the caller (it is the
    partner when the caller noticed the partner's socket died). Returns None when the caller was
    in no match (someone else ended it first: the pool makes the end happen once).
    """
    ended = await pool.end_match(identity_id=identity_id, now=now, reason=reason)
    if ended is None:
        return None
    await notify_partner(
        channel_layer=channel_layer,
        partner_channel=ended.partner_channel,
        message={"type": "partner.left", "match_id": ended.match_id, "reason": PARTNER_REASONS[reason]},
    )
    enqueue_history(ended=ended, ended_by=ended_by or identity_id, reason=reason, names=names or {})
    return ended


def history_payload(
    *, ended: pool.EndedMatch, ended_by: str, reason: str, names: dict[str, str]
) -> dict[str, Any]:
    """The JSON-safe arguments of :func:`record_match` for one ended match."""
    return {
        "match_id": ended.match_id,
        "identity_a": ended.a,
        "identity_b": ended.b,
        "name_a": names.get(ended.a, ""),
        "name_b": names.get(ended.b, ""),
        "started_at": float(ended.started_at),
        "ended_at": float(ended.ended_at),
        "ended_by": ended_by,
        "end_reason": reason,
        "common_interests": list(ended.common_interests),
    }


def _send_history_task(payload: dict[str, Any]) -> None:
    try:
        # A short retry policy: a broker outage must cost a thread seconds, not minutes.
        record_match_task.apply_async(
            kwargs={"payload": payload},
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except Exception:  # history is worth a log line, never a dead socket
        log.exception("could not enqueue match history for %s", payload.get("match_id"))


def enqueue_history(*, ended: pool.EndedMatch, ended_by: str, reason: str, names: dict[str, str]) -> None:
    """Queue the Postgres write of an ended match without blocking the caller's event loop.

    The broker publish runs in a worker thread; if the broker is down it is logged and dropped
    (the socket carries on). Called without a running loop (tests, commands) it publishes inline.
    """
    payload = history_payload(ended=ended, ended_by=ended_by, reason=reason, names=names)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _send_history_task(payload)
        return
    future = loop.run_in_executor(None, _send_history_task, payload)
    _background.add(future)
    future.add_done_callback(_background.discard)


def _name_of(identity_id: str) -> str:
    try:
        identity = identities.for_id(identity_id)
    except Exception:  # a name is nice to have in history, not required
        log.warning("name of %s unavailable", identity_id, exc_info=True)
        return ""
    return identity.name if identity is not None else ""


def _aware(ts: float) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=UTC)


def record_match(
    *,
    match_id: str,
    identity_a: str,
    identity_b: str,
    started_at: float,
    ended_at: float,
    ended_by: str,
    end_reason: str,
    common_interests: Iterable[str] = (),
    name_a: str = "",
    name_b: str = "",
) -> tuple[Match, bool]:
    """Write one finished match to Postgres; idempotent on ``match_id`` (the primary key).

    Returns (match, created). Only a newly created row feeds the talk-time leaderboard (which
    applies it after commit), so running the task twice counts the talk once.
    """
    if end_reason not in EndReason.values:
        raise ValueError(f"unknown end reason {end_reason!r}")
    user_ids = {ident: identities.user_id_from_identity(ident) for ident in (identity_a, identity_b)}
    existing = set(
        get_user_model()
        .objects.filter(pk__in=[uid for uid in user_ids.values() if uid])
        .values_list("pk", flat=True)
    )
    defaults = {
        "identity_a": identity_a,
        "identity_b": identity_b,
        "user_a_id": user_ids[identity_a] if user_ids[identity_a] in existing else None,
        "user_b_id": user_ids[identity_b] if user_ids[identity_b] in existing else None,
        "name_a": (name_a or _name_of(identity_a))[:NAME_MAX_LENGTH],
        "name_b": (name_b or _name_of(identity_b))[:NAME_MAX_LENGTH],
        "common_interests": [str(tag)[: interest_tags.MAX_LENGTH] for tag in common_interests],
        "started_at": _aware(started_at),
        "ended_at": _aware(max(ended_at, started_at)),
        "duration_seconds": max(0.0, float(ended_at) - float(started_at)),
        "ended_by": ended_by[:IDENTITY_ID_MAX_LENGTH],
        "end_reason": end_reason,
    }
    with transaction.atomic():
        match, created = Match.objects.get_or_create(pk=match_id, defaults=defaults)
        if created:
            # Inside the transaction: the leaderboard defers its Redis writes to after commit.
            _record_talk_time(match)
    return match, created


def _record_talk_time(match: Match) -> None:
    try:
        leaderboard_services.record_talk_time(match=match)
    except Exception:  # boards are rebuilt from Postgres; history already stands
        log.exception("talk time of match %s not recorded", match.pk)
