"""The live matching pool (asyncio): who waits, who talks to whom, and the atomic matcher.

Everything lives in the state Redis under one hash tag per pool shard (``keys.pool_tag(shard)``,
``seendr.pool_shards``), so every Lua script touches one Redis Cluster slot. Every call takes the
shard (``None``: the default one); moving a ticket between shards is ``matching.shards``' job:

* ``pool_waiting`` / ``pool_interest(tag)`` / ``pool_language(lang)``: sets of waiting identity ids
  (a language set holds only tickets past the interest stage: see match.lua's header);
* ``ticket(id)``: one compact string per waiting identity (join time, preferences, channel,
  recent partners, public card), with a TTL the process heartbeat refreshes; a member whose ticket
  is gone is a ghost and never handed out;
* ``current_match(id)``: the match id an identity is in (TTL refreshed by heartbeat);
* ``live_match(match_id)``: hash ``a, b, chan_a, chan_b, started_at, common, stage, wait_a, wait_b,
  card_a``; after ``end_match`` it keeps ``ended_at``/``ended_by`` for ``MATCH_ENDED_TTL_SECONDS``
  so a like or report sent right after the call still finds the partner;
* ``recent_partners(id)``: the last ``MATCH_RECENT_PARTNERS`` partners and when (``;id=at;id=at``),
  the cooldown;
* ``blocks(id)`` (written by profiles) and ``banned()`` (written by moderation) are only read here.

``matching/lua/match.lua`` decides in one atomic step: pair the caller with the best compatible
waiting ticket among a bounded random sample, or add/refresh the caller's ticket. There is no
central matcher: each waiting session calls :func:`retry` at its stage boundaries
(``MATCH_INTEREST_SECONDS``, ``MATCH_ANYONE_SECONDS``) and on a timer.

Widening, decided per ticket from its own wait (the script is the one place that computes it,
and reports it back in :class:`Queued`):

* ``interest`` (first ``MATCH_INTEREST_SECONDS``): only a shared interest, and the same language
  unless either side left its language open ("any language" is a wildcard here);
* ``language`` (until ``MATCH_ANYONE_SECONDS``): also anyone with the same language;
* ``anyone``: anyone compatible.

A pair forms only when BOTH sides' stages allow it. Stages a ticket cannot use are skipped:
without interests a ticket starts at ``language``; without a language the ``language`` stage is
skipped (straight to ``anyone``). Among compatible candidates of one sample the matcher prefers
the narrowest rule, the same language, more common interests, the same karma band, the longest
wait. Hard filters (``only_lang``, which needs ``lang``; ``only_country``) hold for both sides.

This module is the asyncio adapter the live loop calls; it never blocks. Sync readers (pages,
metrics, moderation) use :mod:`matching.selectors`; maintenance (the sweep) is in
:mod:`matching.services`. Every function takes the time (``now``) from the caller. Redis failures
surface as :class:`MatchingUnavailable`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import redis
from django.conf import settings

from matching.types import (
    STAGE_ANYONE,
    AlreadyMatched,
    BanCheckNeeded,
    Banned,
    EndedMatch,
    Matched,
    MatchingError,
    MatchingUnavailable,
    NotQueued,
    Pairing,
    Preferences,
    Queued,
)
from seendr import keys, pool_shards, redis_state

logger = logging.getLogger(__name__)


def _unavailable(exc: Exception) -> MatchingUnavailable:
    logger.warning("matching pool: Redis failed: %s", exc)
    return MatchingUnavailable("Matching is temporarily unavailable. Try again shortly.")


async def _arun(script: str, keys_: list[str], args: list[Any]) -> Any:
    try:
        return await redis_state.lua("matching", script).arun(redis_state.astate(), keys_, args)
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc


# --- Calls of match.lua (also pipelined as they are by tests and benchmarks) ----------------


def _match_keys(identity_id: str, now: float, shard: str | None) -> list[str]:
    minute = int(now // 60)
    return [
        keys.ticket(identity_id, shard),
        keys.current_match(identity_id, shard),
        keys.recent_partners(identity_id, shard),
        keys.banned(shard),
        keys.blocks(identity_id, shard),
        keys.pool_waiting(shard),
        keys.pool_live_matches(shard),
        keys.match_waits_per_minute(minute, shard),
    ]


def _match_args(mode: str, identity_id: str, now: float, shard: str | None) -> list[Any]:
    return [
        keys.pool_tag(shard),
        mode,
        identity_id,
        repr(float(now)),
        pool_shards.new_match_id(pool_shards.default() if shard is None else shard),
        int(settings.TICKET_TTL_SECONDS),
        int(settings.MATCH_CURRENT_TTL_SECONDS),
        repr(float(settings.MATCH_INTEREST_SECONDS)),
        repr(float(settings.MATCH_ANYONE_SECONDS)),
        int(settings.MATCH_SAMPLE_SIZE),
        int(settings.MATCH_COOLDOWN_SECONDS),
        int(settings.MATCH_RECENT_PARTNERS),
        int(settings.MATCH_STATS_TTL_SECONDS),
    ]


def _check_identity(identity_id: str) -> None:
    if not identity_id or len(identity_id) > 64 or any(c in identity_id for c in ",;=\t"):
        raise ValueError("bad identity id")


def ticket_fields(*, prefs: Preferences, channel_name: str) -> str:
    """The caller's ticket fields as match.lua reads them from a ``join`` (the script adds the join
    time, the recent partners and the card): interests wrapped in commas, so that "shares this
    tag" is one plain substring search in Lua."""
    if "\t" in channel_name:
        raise ValueError("a ticket field may not contain a tab")
    return "\t".join(
        (
            f",{','.join(prefs.interests)}," if prefs.interests else "",
            prefs.lang or "",
            prefs.country,
            "1" if prefs.only_lang else "0",
            prefs.only_country,
            "" if prefs.karma_band is None else str(prefs.karma_band),
            channel_name,
        )
    )


def stored_ticket(*, joined_at: float, fields: str, recent: str, card_json: str) -> str:
    """A whole ticket as match.lua stores it: join time, :func:`ticket_fields`, the owner's recent
    partners, the card."""
    return f"{float(joined_at)!r}\t{fields}\t{recent}\t{card_json}"


def join_call(
    *,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    now: float,
    card_json: str = "",
    shard: str | None = None,
    network: str = "",
) -> tuple[list, list]:
    """(keys, args) of a ``join`` run of match.lua in one pool shard (``None``: the default). The
    caller's interest sets and its tags (comma-wrapped) ride along, so the script builds no strings
    for them. ``network``: the caller's network hash ("-" unknown), whose ban the script checks
    in the same call; "" skips that check (the caller has just asked Postgres)."""
    _check_identity(identity_id)
    args = _match_args("join", identity_id, now, shard)
    if "\t" in card_json:
        raise ValueError("a ticket field may not contain a tab")
    args += [ticket_fields(prefs=prefs, channel_name=channel_name), card_json, network]
    args += [f",{tag}," for tag in prefs.interests]
    interest_sets = [keys.pool_interest(tag, shard) for tag in prefs.interests]
    return [*_match_keys(identity_id, now, shard), *interest_sets], args


def retry_call(*, identity_id: str, now: float, shard: str | None = None) -> tuple[list, list]:
    """(keys, args) of a ``retry`` run of match.lua."""
    _check_identity(identity_id)
    return _match_keys(identity_id, now, shard), _match_args("retry", identity_id, now, shard)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(t for t in (value or "").split(",") if t)


def parse_card(raw: object) -> dict[str, Any]:
    """A card as JSON text (from a ticket or a message) -> dict; anything else -> {}."""
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        card = json.loads(raw)
    except ValueError:
        return {}
    return card if isinstance(card, dict) else {}


def match_reply(reply: Sequence[str]) -> Matched | Queued | Banned:
    """A match.lua reply as an outcome; raises AlreadyMatched or NotQueued."""
    kind = reply[0]
    if kind == "queued":
        return Queued(stage=reply[1], waited_seconds=float(reply[2]), waiting=int(reply[3]))
    if kind in ("matched", "already"):
        _, mid, partner, channel, common, stage, started, waited, partner_waited, card = reply[:10]
        pairing = Pairing(
            match_id=mid,
            partner_id=partner,
            partner_channel=channel,
            initiator=kind == "matched" or reply[10] == "1",
            common_interests=_split(common),
            stage=stage or STAGE_ANYONE,
            started_at=float(started or 0),
            waited_seconds=float(waited),
            partner_waited_seconds=float(partner_waited),
            partner_card=parse_card(card),
        )
        if kind == "already":
            raise AlreadyMatched(pairing, channel=reply[11])
        return Matched(pairing)
    if kind == "banned":
        return Banned(until=float(reply[1]))
    if kind == "gone":
        raise NotQueued("not in the pool: join again")
    if kind == "check_bans":
        raise BanCheckNeeded("the ban mirror cannot decide: ask Postgres")
    raise MatchingError(f"unexpected matcher reply {kind!r}")


# --- The live loop's calls ------------------------------------------------------------------


async def join(
    *,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    now: float,
    card_json: str = "",
    shard: str | None = None,
    joined_at: float | None = None,
    recent: str | None = None,
    network: str = "",
) -> Matched | Queued | Banned:
    """One atomic Lua call: pair with a compatible waiting ticket, or add/refresh the caller's ticket.

    ``Matched`` makes the caller the initiator (it must tell the partner, ``partner_channel``);
    ``card_json`` is the caller's public card, handed to whoever it is paired with. Joining while
    queued refreshes the same ticket (new preferences and channel, original join time). Raises
    AlreadyMatched if the identity is in a live match, MatchingUnavailable if Redis fails.

    ``joined_at``: a ticket moving in from another shard keeps its wait (so its widening stage):
    its ticket is written first with that join time, which the join keeps. Until the join adds
    it to the shard's sets no matcher can sample it. ``recent``: the recent-partners string it
    brings along (its cooldown), written beside it.
    ``network``: see :func:`join_call`; BanCheckNeeded when the ban mirror cannot decide.
    """
    keys_, args = join_call(
        identity_id=identity_id,
        prefs=prefs,
        channel_name=channel_name,
        now=now,
        card_json=card_json,
        shard=shard,
        network=network,
    )
    if joined_at is None:
        return match_reply(await _arun("match", keys_, args))
    script = redis_state.lua("matching", "match")
    client = redis_state.astate()

    async def send() -> list:
        async with client.pipeline(transaction=False) as pipe:
            ticket = stored_ticket(
                joined_at=joined_at,
                fields=ticket_fields(prefs=prefs, channel_name=channel_name),
                recent=recent or "",
                card_json=card_json,
            )
            pipe.set(keys.ticket(identity_id, shard), ticket, ex=int(settings.TICKET_TTL_SECONDS))
            if recent:
                pipe.set(
                    keys.recent_partners(identity_id, shard), recent, ex=int(settings.MATCH_COOLDOWN_SECONDS)
                )
            script.queue(pipe, keys_, args)
            return await pipe.execute(raise_on_error=False)

    try:
        replies = await redis_state.aexecute_with_scripts(client, [script], send)
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    return match_reply(replies[-1])


async def retry(*, identity_id: str, now: float, shard: str | None = None) -> Matched | Queued | Banned:
    """Re-run the matcher for a queued identity with its stored ticket (same atomic script).

    Raises AlreadyMatched when another joiner paired the caller meanwhile, NotQueued when the
    ticket is gone, or MatchingUnavailable.
    """
    return match_reply(await _arun("match", *retry_call(identity_id=identity_id, now=now, shard=shard)))


def leave_call(*, identity_id: str, shard: str | None = None) -> tuple[list, list]:
    """(keys, args) of leave.lua."""
    return [keys.ticket(identity_id, shard), keys.pool_waiting(shard)], [keys.pool_tag(shard), identity_id]


async def leave_pool(*, identity_id: str, shard: str | None = None) -> bool:
    """Remove the caller's ticket and every pool-set membership. True if it was queued."""
    return bool(await _arun("leave", *leave_call(identity_id=identity_id, shard=shard)))


def _end_reply(reply: Sequence[str] | None) -> EndedMatch | None:
    if not reply:
        return None
    mid, a, b, partner, channel, started, ended, common = reply
    return EndedMatch(
        match_id=mid,
        a=a,
        b=b,
        partner_id=partner,
        partner_channel=channel,
        started_at=float(started),
        ended_at=float(ended),
        common_interests=_split(common),
    )


def end_call(*, identity_id: str, now: float, reason: str, shard: str | None = None) -> tuple[list, list]:
    """(keys, args) of end.lua."""
    return (
        [keys.current_match(identity_id, shard), keys.pool_live_matches(shard)],
        [keys.pool_tag(shard), identity_id, repr(float(now)), int(settings.MATCH_ENDED_TTL_SECONDS), reason],
    )


async def end_match(
    *, identity_id: str, now: float, reason: str = "", shard: str | None = None
) -> EndedMatch | None:
    """Atomically end the caller's live match for BOTH sides; None if the caller is in none.

    Deletes both current-match keys (only where they still point to this match), stamps
    ``ended_at``/``ended_by``/``end_reason`` on the live_match hash and keeps it for
    ``MATCH_ENDED_TTL_SECONDS``. Idempotent: the second call (from either side) returns None.
    """
    return _end_reply(
        await _arun("end", *end_call(identity_id=identity_id, now=now, reason=reason, shard=shard))
    )


def heartbeat_call(*, identity_id: str, now: float, shard: str | None = None) -> tuple[list, list]:
    """(keys, args) of ``heartbeat.lua`` for one identity, for the process heartbeat's pipeline."""
    return (
        [
            keys.ticket(identity_id, shard),
            keys.current_match(identity_id, shard),
            keys.pool_live_matches(shard),
        ],
        [
            keys.pool_tag(shard),
            int(settings.TICKET_TTL_SECONDS),
            int(settings.MATCH_CURRENT_TTL_SECONDS),
            repr(float(now)),
        ],
    )


async def heartbeat(*, identity_id: str, now: float, shard: str | None = None) -> None:
    """Refresh the TTLs of the caller's ticket and of its current match (keys + live_match hash)."""
    await _arun("heartbeat", *heartbeat_call(identity_id=identity_id, now=now, shard=shard))


async def current_match(*, identity_id: str, shard: str | None = None) -> tuple[str, str, str] | None:
    """(match_id, partner_id, partner_channel) of the caller's live match in a shard, or None."""
    client = redis_state.astate()
    try:
        mid = await client.get(keys.current_match(identity_id, shard))
        record = (
            await client.hmget(keys.live_match(mid), ["a", "b", "chan_a", "chan_b", "ended_at"])
            if mid
            else []
        )
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    if not mid or not record or not record[0] or record[4] is not None:
        return None
    a, b, chan_a, chan_b, _ = record
    if identity_id == a:
        return mid, b, chan_b or ""
    if identity_id == b:
        return mid, a, chan_a or ""
    return None
