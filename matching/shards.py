"""Widening across pool shards: a waiting ticket moves, it never reaches.

A caller joins its home shard (``seendr.pool_shards.home``, from its language). Each matcher call
looks only inside one shard. A ticket still queued after a call at home moves to the ``other``
shard (the fixed fallback order, ``pool_shards.route``) when

* it is alone in its shard (the reply's ``waiting`` counts only itself): nobody there can match
  it, so it does not wait for a widening boundary; or
* it is at home and has reached the ``anyone`` stage: home had its chance at every narrower rule.

A move is the leave script in the old shard (atomic there), then an ordinary join in ``other``
(atomic there) that keeps the ticket's join time, so its widening stage carries over, and its
recent partners, so its cooldown does too. The ticket is in exactly one shard at any moment, so
no pair can form twice and no script touches two slots. If the leave finds no ticket, someone
paired the caller (or the ticket lapsed) a moment before: it does not move, and a retry in the
old shard says which. A ticket never moves back: the caller's next join starts at home again.
With one shard (the default) nothing ever moves.

The session keeps the shard its ticket or match is in (``ChatSession.shard``); a match id names
its shard (``pool_shards.of_match``), so calls by match id find it without that pointer.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings

from matching import services
from matching.models import EndReason
from matching.types import STAGE_ANYONE, JoinOutcome, MatchingUnavailable, Preferences, Queued
from seendr import keys, pool_shards
from seendr.redis_state import astate


def next_shard(queued: Queued, *, shard: str, home: str) -> str | None:
    """Where a ticket still queued in ``shard`` goes next, or None to stay."""
    route = pool_shards.route(home)
    if shard not in route or route.index(shard) + 1 >= len(route):
        return None
    alone = queued.waiting <= 1
    widened_at_home = shard == home and queued.stage == STAGE_ANYONE
    return route[route.index(shard) + 1] if alone or widened_at_home else None


async def join(
    *,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    card: str,
    now: float,
    channel_layer: Any,
    network: str = "",
) -> tuple[JoinOutcome, str]:
    """Join the home shard, moving on as :func:`next_shard` says; (outcome, shard it is in).
    ``network`` is checked against the home shard's ban mirror (``services.join``)."""
    common = {"identity_id": identity_id, "prefs": prefs, "channel_name": channel_name, "card": card}
    home = pool_shards.home(prefs.lang)
    outcome = await services.join(**common, now=now, channel_layer=channel_layer, shard=home, network=network)
    return await _widen(outcome, now=now, shard=home, home=home, channel_layer=channel_layer, **common)


async def retry(
    *,
    shard: str,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    card: str,
    now: float,
    channel_layer: Any,
) -> tuple[JoinOutcome, str]:
    """Re-run the matcher in the shard the ticket is in, moving on as :func:`next_shard` says."""
    common = {"identity_id": identity_id, "prefs": prefs, "channel_name": channel_name, "card": card}
    outcome = await services.retry(**common, now=now, channel_layer=channel_layer, shard=shard)
    home = pool_shards.home(prefs.lang)
    return await _widen(outcome, now=now, shard=shard, home=home, channel_layer=channel_layer, **common)


async def _widen(
    outcome: JoinOutcome,
    *,
    now: float,
    shard: str,
    home: str,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    card: str,
    channel_layer: Any,
) -> tuple[JoinOutcome, str]:
    common = {"identity_id": identity_id, "prefs": prefs, "channel_name": channel_name, "card": card}
    while isinstance(outcome, Queued):
        target = next_shard(outcome, shard=shard, home=home)
        if target is None:
            break
        joined_at = now - outcome.waited_seconds
        recent = await _recent_partners(identity_id, shard, target)
        if not await services.leave(identity_id=identity_id, shard=shard):
            # Paired a moment ago (or the ticket lapsed): the shard's own retry tells which.
            outcome = await services.retry(**common, now=now, channel_layer=channel_layer, shard=shard)
            break
        outcome = await services.join(
            **common, now=now, channel_layer=channel_layer, shard=target, joined_at=joined_at, recent=recent
        )
        shard = target
    return outcome, shard


async def _recent_partners(identity_id: str, *shards_: str) -> str | None:
    """The caller's recent partners (its cooldown) of both shards, merged: a pair that just met
    at home must not meet again after both moved. Nothing else writes the caller's list in the
    target shard meanwhile: only a match does, and the caller is in none of that shard's sets."""
    try:
        async with astate().pipeline(transaction=False) as pipe:
            for shard in shards_:
                pipe.get(keys.recent_partners(identity_id, shard))
            values = await pipe.execute()
    except redis.RedisError as exc:
        raise MatchingUnavailable("Matching is temporarily unavailable.") from exc
    return merged_recent(values, keep=int(settings.MATCH_RECENT_PARTNERS))


def merged_recent(values: list[str | None], *, keep: int) -> str | None:
    """Recent-partners strings (``;id=at;id=at``, match.lua's format) as one: the latest meeting
    per partner, the ``keep`` latest partners, oldest first."""
    latest: dict[str, tuple[float, str]] = {}
    for value in values:
        for entry in (value or "").split(";")[1:]:
            partner, _, at = entry.partition("=")
            try:
                when = float(at)
            except ValueError:
                continue
            if partner and when > latest.get(partner, (float("-inf"), ""))[0]:
                latest[partner] = (when, at)
    kept = sorted(latest.items(), key=lambda item: item[1][0])[-keep:] if keep > 0 else []
    return "".join(f";{partner}={at}" for partner, (_, at) in kept) or None


async def clear(*, identity_id: str, now: float, channel_layer: Any) -> None:
    """End the match and drop the ticket an older socket of the identity left, in whichever shard
    (a new socket does not know where the old one was)."""
    for shard in pool_shards.names():
        await services.finish_match(
            identity_id=identity_id,
            reason=EndReason.DISCONNECT,
            now=now,
            channel_layer=channel_layer,
            shard=shard,
        )
        await services.leave(identity_id=identity_id, shard=shard)
