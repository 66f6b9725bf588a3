"""Services of the chat socket: identities, socket ownership, relays, ending matches, history.

The chat session (``matching/session.py``) calls these; the pool (``matching/pool.py``) owns the
atomic matching state. Everything the live loop calls is asyncio and never blocks the event loop;
the database work goes through ``database_sync_to_async`` or the history writer's thread
(``matching/history.py``). The sync doors at the end serve tasks, commands and moderation.
"""

from __future__ import annotations

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
from django.db import connection, transaction

from leaderboard import services as leaderboard_services
from matching import friends, history, pool, presence
from matching.models import NAME_MAX_LENGTH, EndReason, Match
from matching.types import (
    AlreadyMatched,
    EndedMatch,
    JoinOutcome,
    Matched,
    MatchingUnavailable,
    NotQueued,
    Pairing,
    Preferences,
    Replaced,
)
from moderation import services as moderation_services
from profiles import interests as interest_tags
from profiles import selectors as profile_selectors
from seendr import identity as identities
from seendr import keys, pool_shards
from seendr.identity import IDENTITY_ID_MAX_LENGTH, Identity
from seendr.redis_state import aexecute_with_scripts, astate, batched, lua, state

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

# The public card a partner sees in ``matched``.
CARD_FIELDS = ("name", "guest", "country", "interests", "likes", "username", "verified")


# --- Identities -----------------------------------------------------------------------------


identity_from_scope = database_sync_to_async(identities.from_scope)


def _fallback_card(identity: Identity) -> dict[str, Any]:
    return profile_selectors.empty_card(name=identity.name, guest=identity.guest)


def card_for_sync(identity: Identity) -> dict[str, Any]:
    """The public card (``CARD_FIELDS``) of an identity.

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


async def ban_until(
    *, identity_id: str, now: float, network: str = "", shard: str | None = None
) -> float | None:
    """The expiry (unix seconds) of a ban in force on this identity or on the network it comes
    from, else None. One Redis round trip to the ban mirror of ``shard`` (the one the caller is
    about to join, so a shard that lost its mirror is noticed and rebuilt); Postgres decides when
    the mirror was lost (an empty restart) or when an account meets a banned network (only
    accounts newer than the ban)."""
    pipe = astate().pipeline(transaction=False)
    pipe.exists(keys.ban_mirror_ready(shard))
    pipe.zscore(keys.banned(shard), identity_id)
    pipe.zscore(keys.banned_networks(shard), network or "-")
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
    shard: str | None = None  # the pool shard its ticket or match is in (None: the default)


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
                    beat.queue(pipe, *pool.heartbeat_call(identity_id=s.identity_id, now=now, shard=s.shard))
            for s in sockets:
                if s.partner_id is not None:
                    pipe.get(keys.current_match(s.identity_id, s.shard))
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
    """LPUSH a line (newest first), keep the last ``CHAT_TRANSCRIPT_LINES``, refresh the TTL.

    Not MULTI: the line shares a pipeline with other sockets' writes (``redis_state.batched``),
    and a reader between its LPUSH and LTRIM sees one line too many, which the evidence reader's
    own LRANGE bound drops."""
    key = keys.transcript(match_id)
    line = json.dumps({"from": sender_id, "at": round(now, 3), "text": text}, ensure_ascii=False)
    await batched(
        [
            ("LPUSH", key, line),
            ("LTRIM", key, 0, settings.CHAT_TRANSCRIPT_LINES - 1),
            ("EXPIRE", key, settings.CHAT_TRANSCRIPT_TTL_SECONDS),
        ]
    )


async def notify_partner(*, channel_layer: Any, partner_channel: str, message: dict) -> None:
    """Send a server message to a partner's socket; a lost partner is not the caller's error."""
    try:
        await channel_layer.send(partner_channel, message)
    except Exception:  # the caller's own reply must still go out
        log.warning("could not reach partner channel %s", partner_channel, exc_info=True)


# --- Joining and matching ------------------------------------------------------------------


def card_json(card: dict[str, Any]) -> str:
    """The public card as it rides in a ticket (compact JSON; never a raw tab)."""
    return json.dumps(
        {k: card.get(k) for k in CARD_FIELDS}, separators=(",", ":"), ensure_ascii=False, default=str
    )


def public_card(card: dict[str, Any]) -> dict[str, Any]:
    """The fields of a card a partner sees, with defaults for any that are missing."""
    defaults = profile_selectors.empty_card(name="Someone", guest=True)
    return {k: card[k] if card.get(k) is not None else defaults[k] for k in CARD_FIELDS}


async def leave(*, identity_id: str, shard: str | None = None) -> bool:
    """Take the caller out of the waiting pool (of one shard). True if it was queued."""
    return await pool.leave_pool(identity_id=identity_id, shard=shard)


async def current_match(*, identity_id: str, shard: str | None = None) -> tuple[str, str, str] | None:
    """(match_id, partner_id, partner_channel) of the caller's live match, or None."""
    return await pool.current_match(identity_id=identity_id, shard=shard)


async def join(
    *,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    card: str,
    now: float,
    channel_layer: Any,
    shard: str | None = None,
    joined_at: float | None = None,
    recent: str | None = None,
    network: str = "",
) -> JoinOutcome:
    """Pair the caller or queue it (in one pool shard); ``Matched`` as the initiator has already
    told the partner. ``joined_at``, ``recent``: the wait and the recent partners a ticket moving
    in from another shard keeps (``matching.shards``). ``network``: the caller's network, whose
    ban the matcher checks in the same call (``pool.join_call``); raises BanCheckNeeded when
    only Postgres can tell.

    Recovery: a live match recorded for this very socket (someone paired it a moment ago) is
    taken up; a live match of an older socket of the identity is ended first, then it joins.
    """

    async def attempt() -> JoinOutcome:
        return await pool.join(
            identity_id=identity_id,
            prefs=prefs,
            channel_name=channel_name,
            now=now,
            card_json=card,
            shard=shard,
            joined_at=joined_at,
            recent=recent,
            network=network,
        )

    try:
        outcome = await attempt()
    except AlreadyMatched as exc:
        if exc.channel == channel_name:
            return Matched(exc.pairing)
        await finish_match(
            identity_id=identity_id,
            reason=EndReason.DISCONNECT,
            now=now,
            channel_layer=channel_layer,
            shard=shard,
        )
        outcome = await attempt()
    return await _announced(
        outcome, identity_id=identity_id, channel_name=channel_name, card=card, channel_layer=channel_layer
    )


async def retry(
    *,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    card: str,
    now: float,
    channel_layer: Any,
    shard: str | None = None,
) -> JoinOutcome:
    """Re-run the matcher for a waiting socket (at a widening boundary or on its timer).

    Recovery: paired meanwhile -> ``Matched``; the ticket lapsed (a stall longer than its TTL)
    -> join again, unless a newer socket of the identity took over (``Replaced``).
    """
    try:
        outcome = await pool.retry(identity_id=identity_id, now=now, shard=shard)
    except AlreadyMatched as exc:
        return Matched(exc.pairing) if exc.channel == channel_name else Replaced()
    except NotQueued:
        if not await refresh_socket(identity_id=identity_id, channel_name=channel_name):
            return Replaced()
        return await join(
            identity_id=identity_id,
            prefs=prefs,
            channel_name=channel_name,
            card=card,
            now=now,
            channel_layer=channel_layer,
            shard=shard,
        )
    return await _announced(
        outcome, identity_id=identity_id, channel_name=channel_name, card=card, channel_layer=channel_layer
    )


async def _announced(
    outcome: JoinOutcome, *, identity_id: str, channel_name: str, card: str, channel_layer: Any
) -> JoinOutcome:
    """The initiator hands the partner everything its ``matched`` frame needs: no read-back."""
    if isinstance(outcome, Matched) and outcome.pairing.initiator:
        p = outcome.pairing
        await notify_partner(
            channel_layer=channel_layer,
            partner_channel=p.partner_channel,
            message={
                "type": "match.found",
                "match_id": p.match_id,
                "partner_id": identity_id,
                "partner_channel": channel_name,
                "card": card,
                "common": ",".join(p.common_interests),
                "stage": p.stage,
                "started_at": p.started_at,
                "waited": p.partner_waited_seconds,
                "partner_waited": p.waited_seconds,
            },
        )
    return outcome


def passive_pairing(*, event: dict[str, Any]) -> Pairing:
    """The pairing a ``match.found`` message describes, seen from the side it was sent to."""
    return Pairing(
        match_id=str(event["match_id"]),
        partner_id=str(event["partner_id"]),
        partner_channel=str(event["partner_channel"]),
        initiator=False,
        common_interests=tuple(t for t in str(event.get("common") or "").split(",") if t),
        stage=str(event.get("stage") or "anyone"),
        started_at=float(event.get("started_at") or 0),
        waited_seconds=float(event.get("waited") or 0),
        partner_waited_seconds=float(event.get("partner_waited") or 0),
        partner_card=pool.parse_card(event.get("card")),
    )


# --- Ending a match -------------------------------------------------------------------------


async def finish_match(
    *,
    identity_id: str,
    reason: str,
    now: float,
    channel_layer: Any,
    ended_by: str | None = None,
    names: dict[str, str] | None = None,
    shard: str | None = None,
) -> EndedMatch | None:
    """End the caller's live match, tell the partner at once, and queue the history write.

    ``reason`` is an :class:`EndReason` value; ``ended_by`` defaults to the caller (it is the
    partner when the caller noticed the partner's socket died). Returns None when the caller was
    in no match (someone else ended it first: the pool makes the end happen once).
    """
    ended = await pool.end_match(identity_id=identity_id, now=now, reason=reason, shard=shard)
    if ended is None:
        return None
    try:
        await friends.close_request_window(match_id=ended.match_id, ended_at=ended.ended_at)
    except redis.RedisError:  # the requests keep their backstop expiry
        log.warning("friend request window of %s not set", ended.match_id, exc_info=True)
    await notify_partner(
        channel_layer=channel_layer,
        partner_channel=ended.partner_channel,
        message={"type": "partner.left", "match_id": ended.match_id, "reason": PARTNER_REASONS[reason]},
    )
    history.publish(
        history_payload(ended=ended, ended_by=ended_by or identity_id, reason=reason, names=names or {})
    )
    return ended


def history_payload(
    *, ended: EndedMatch, ended_by: str, reason: str, names: dict[str, str]
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


def _row(payload: dict[str, Any], accounts: set[int]) -> Match:
    identity_a, identity_b = payload["identity_a"], payload["identity_b"]
    user_a = identities.user_id_from_identity(identity_a)
    user_b = identities.user_id_from_identity(identity_b)
    started_at, ended_at = float(payload["started_at"]), float(payload["ended_at"])
    return Match(
        pk=payload["match_id"],
        identity_a=identity_a,
        identity_b=identity_b,
        user_a_id=user_a if user_a in accounts else None,
        user_b_id=user_b if user_b in accounts else None,
        name_a=(payload.get("name_a") or _name_of(identity_a))[:NAME_MAX_LENGTH],
        name_b=(payload.get("name_b") or _name_of(identity_b))[:NAME_MAX_LENGTH],
        common_interests=[
            str(tag)[: interest_tags.MAX_LENGTH] for tag in payload.get("common_interests") or ()
        ],
        started_at=_aware(started_at),
        ended_at=_aware(max(ended_at, started_at)),
        duration_seconds=max(0.0, ended_at - started_at),
        ended_by=str(payload["ended_by"])[:IDENTITY_ID_MAX_LENGTH],
        end_reason=payload["end_reason"],
    )


def record_matches(payloads: Sequence[dict[str, Any]]) -> list[Match]:
    """Write finished matches (``history_payload`` dicts) in one transaction and one bulk insert.

    Idempotent on ``match_id``: rows already there are skipped, and only newly created rows feed
    the talk-time leaderboard (after commit). Returns the rows created. Raises ValueError for an
    unknown end reason (nothing of the batch is written).
    """
    unique = {p["match_id"]: p for p in payloads}
    for payload in unique.values():
        if payload["end_reason"] not in EndReason.values:
            raise ValueError(f"unknown end reason {payload['end_reason']!r}")
    user_ids = {
        uid
        for p in unique.values()
        for uid in (
            identities.user_id_from_identity(p["identity_a"]),
            identities.user_id_from_identity(p["identity_b"]),
        )
        if uid is not None
    }
    accounts = (
        set(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", flat=True))
        if user_ids
        else set()
    )
    rows = [_row(p, accounts) for p in unique.values()]
    with transaction.atomic():
        created = _insert_new(rows)
        rows = [row for row in rows if row.pk in created]
        for row in rows:
            _record_talk_time(row)
    return rows


# One statement for a whole batch, whatever its size: the columns travel as arrays, so the text
# is the same each time (psycopg parses it once) and no ORM code runs per field. bulk_create
# cost the history writer about a tenth of a busy web process's CPU (docs/benchmarks.md).
_INSERT_MATCHES = """
INSERT INTO matching_match (
    id, identity_a, identity_b, user_a_id, user_b_id, name_a, name_b, common_interests,
    started_at, ended_at, duration_seconds, ended_by, end_reason
)
SELECT m.id, m.identity_a, m.identity_b, m.user_a_id, m.user_b_id, m.name_a, m.name_b,
       ARRAY(SELECT jsonb_array_elements_text(m.common::jsonb)),
       m.started_at, m.ended_at, m.duration_seconds, m.ended_by, m.end_reason
FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::text[],
    %s::text[], %s::timestamptz[], %s::timestamptz[], %s::float8[], %s::text[], %s::text[]
) AS m(id, identity_a, identity_b, user_a_id, user_b_id, name_a, name_b, common,
       started_at, ended_at, duration_seconds, ended_by, end_reason)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


def _insert_new(rows: Sequence[Match]) -> set[str]:
    """INSERT the rows not yet there; the ids of those written now."""
    if not rows:
        return set()
    columns = [
        [r.pk for r in rows],
        [r.identity_a for r in rows],
        [r.identity_b for r in rows],
        [r.user_a_id for r in rows],
        [r.user_b_id for r in rows],
        [r.name_a for r in rows],
        [r.name_b for r in rows],
        [json.dumps(r.common_interests) for r in rows],
        [r.started_at for r in rows],
        [r.ended_at for r in rows],
        [r.duration_seconds for r in rows],
        [r.ended_by for r in rows],
        [r.end_reason for r in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_MATCHES, columns)
        return {mid for (mid,) in cursor.fetchall()}


# --- Sync doors for tasks, commands and moderation ------------------------------------------


def remove_from_pool(*, identity_id: str) -> bool:
    """Take an identity out of the waiting pool now (a ban), whichever shard it waits in. True if
    it was queued."""
    script = lua("matching", "leave")
    removed = False
    for shard in pool_shards.names():
        keys_, args = pool.leave_call(identity_id=identity_id, shard=shard)
        removed = bool(script.run(state(), keys_, args)) or removed
    return removed


def sweep_pool(*, now: float) -> dict[str, int]:
    """SCAN the pool sets of every shard and drop members whose ticket expired; forget lapsed
    live matches.

    Returns ``{"sets": scanned sets, "members": members checked, "removed": ghosts removed,
    "live_expired": lapsed live-match entries dropped}``. Cost is O(pool); run from a beat task.
    """
    counts = {"sets": 0, "members": 0, "removed": 0, "live_expired": 0}
    try:
        for shard in pool_shards.names():
            _sweep_shard(shard, now=now, counts=counts)
    except redis.exceptions.RedisError as exc:
        raise MatchingUnavailable("Matching is temporarily unavailable.") from exc
    return counts


def _sweep_shard(shard: str, *, now: float, counts: dict[str, int]) -> None:
    client = state()
    script = lua("matching", "sweep")
    tag = keys.pool_tag(shard)

    def sweep(set_key: str, batch: list[str]) -> None:
        counts["removed"] += script.run(client, [set_key], [tag, *batch])
        counts["members"] += len(batch)

    for pattern in keys.pool_set_patterns(shard):
        for set_key in client.scan_iter(match=pattern, count=500):
            counts["sets"] += 1
            batch: list[str] = []
            for member in client.sscan_iter(set_key, count=500):
                batch.append(member)
                if len(batch) >= 500:
                    sweep(set_key, batch)
                    batch = []
            if batch:
                sweep(set_key, batch)
    counts["live_expired"] += client.zremrangebyscore(
        keys.pool_live_matches(shard), "-inf", f"({now - settings.MATCH_CURRENT_TTL_SECONDS}"
    )


def _record_talk_time(match: Match) -> None:
    try:
        leaderboard_services.record_talk_time(match=match)
    except Exception:  # boards are rebuilt from Postgres; history already stands
        log.exception("talk time of match %s not recorded", match.pk)
