"""Who is online, and the throttled ``online`` broadcast.

``keys.presence_online()`` is a sorted set identity id -> last heartbeat (unix seconds). A socket
adds its identity on connect and on every heartbeat and removes it on disconnect; members older
than ``PRESENCE_WINDOW_SECONDS`` do not count (a server that died takes its sockets' presence with
it within one window) and are trimmed whenever the count is broadcast. The key itself carries a
TTL of two windows, refreshed by every heartbeat, so an idle site leaves nothing behind.

``waiting`` and ``in_call`` come from the pool's own sets (:func:`pool_counts`).

The ``online`` frame is pushed to the ``presence`` group at most once per
``ONLINE_BROADCAST_SECONDS`` across every server: a change (connect, disconnect, heartbeat) asks
for a broadcast; the first asker takes a Redis ``SET NX PX`` lock for one window, waits for the
window to close, and broadcasts the count then, only if it differs from the last one sent.
Changes inside the window ride on that one broadcast, so nothing is lost and nothing floods.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

import redis
from django.conf import settings

from matching.types import MatchingUnavailable
from seendr import keys, pool_shards
from seendr.redis_state import astate, state

log = logging.getLogger(__name__)

# Background broadcasts outlive the socket that asked for them; keep strong references.
_pending: set[asyncio.Task] = set()

# Event loop -> loop time of its last heartbeat-driven broadcast ask (see request_broadcast).
_heartbeat_asked: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float] = weakref.WeakKeyDictionary()


def _window() -> int:
    return int(settings.PRESENCE_WINDOW_SECONDS)


# --- Writes (consumer) ----------------------------------------------------------------------


async def touch(*, identity_id: str, now: float) -> None:
    """Mark an identity as online now."""
    client = astate()
    key = keys.presence_online()
    async with client.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {identity_id: now})
        pipe.expire(key, 2 * _window())
        await pipe.execute()


def queue_touch(pipe: Any, *, identity_ids: list[str], now: float) -> None:
    """Queue :func:`touch` for many identities on a caller's pipeline (the process heartbeat)."""
    if not identity_ids:
        return
    key = keys.presence_online()
    pipe.zadd(key, dict.fromkeys(identity_ids, now))
    pipe.expire(key, 2 * _window())


async def remove(*, identity_id: str) -> None:
    await astate().zrem(keys.presence_online(), identity_id)


# --- Reads ----------------------------------------------------------------------------------


async def online_count(*, now: float) -> int:
    return int(await astate().zcount(keys.presence_online(), now - _window(), "+inf"))


def online_count_sync(*, now: float) -> int:
    return int(state().zcount(keys.presence_online(), now - _window(), "+inf"))


def counts(*, now: float | None = None) -> dict[str, int]:
    """``{"online", "waiting", "in_call"}`` for the API and the landing page.

    Raises ``redis.RedisError`` or ``MatchingUnavailable`` when the state Redis is away.
    """
    now = time.time() if now is None else now
    return {"online": online_count_sync(now=now), **pool_counts(now=now)}


def pool_counts(*, now: float | None = None) -> dict[str, int]:
    """``{"waiting": N, "in_call": N}`` with O(1)/O(log N) commands (SCARD, ZCOUNT).

    ``waiting`` may include ghosts for up to a ticket TTL plus a sweep interval; ``in_call`` counts
    both people of every match heartbeated within ``MATCH_CURRENT_TTL_SECONDS``.
    """
    since = (time.time() if now is None else now) - settings.MATCH_CURRENT_TTL_SECONDS
    try:
        pipe = state().pipeline(transaction=False)
        for shard in pool_shards.names():  # summed over the pool's shards
            pipe.scard(keys.pool_waiting(shard))
            pipe.zcount(keys.pool_live_matches(shard), since, "+inf")
        replies = pipe.execute()
    except redis.exceptions.RedisError as exc:
        raise MatchingUnavailable("Matching is temporarily unavailable.") from exc
    return {"waiting": sum(map(int, replies[0::2])), "in_call": 2 * sum(map(int, replies[1::2]))}


# --- The throttled broadcast --------------------------------------------------------------


async def request_broadcast(*, channel_layer: Any, from_heartbeat: bool = False) -> bool:
    """Ask for an ``online`` broadcast soon. True if this call took the window's lock.

    ``from_heartbeat``: the ask of a socket's heartbeat, which changes the count only when stale
    members age out of the window. One such ask per process and window is enough, so the others
    skip the Redis round trip (connects and disconnects always ask).

    Never raises: a lost broadcast only delays a number on a page.
    """
    window = float(settings.ONLINE_BROADCAST_SECONDS)
    if from_heartbeat:
        loop = asyncio.get_running_loop()
        if loop.time() < _heartbeat_asked.get(loop, float("-inf")) + window:
            return False
        _heartbeat_asked[loop] = loop.time()
    try:
        took = await astate().set(keys.presence_broadcast_lock(), "1", nx=True, px=max(1, int(window * 1000)))
    except redis.RedisError as exc:
        log.warning("presence broadcast lock failed: %s", exc)
        return False
    if not took:
        return False
    task = asyncio.get_running_loop().create_task(_broadcast_after(channel_layer=channel_layer, delay=window))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return True


async def broadcast_now(*, channel_layer: Any, now: float | None = None) -> int | None:
    """Trim stale members, and send the count to the presence group if it changed.

    Returns the count sent, or None when it was unchanged.
    """
    now = time.time() if now is None else now
    client = astate()
    key = keys.presence_online()
    async with client.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(key, "-inf", f"({now - _window()}")
        pipe.zcard(key)
        _, count = await pipe.execute()
    previous = await client.set(keys.presence_last_count(), int(count), ex=10 * _window(), get=True)
    if previous is not None and int(previous) == int(count):
        return None
    await channel_layer.group_send(keys.presence_group(), {"type": "presence.online", "count": int(count)})
    return int(count)


async def _broadcast_after(*, channel_layer: Any, delay: float) -> None:
    try:
        await asyncio.sleep(delay)
        await broadcast_now(channel_layer=channel_layer)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("online broadcast failed", exc_info=True)
