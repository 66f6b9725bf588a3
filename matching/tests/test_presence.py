"""Presence: the online set, the counts API, the landing page, and the throttled broadcast."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from channels.layers import get_channel_layer

from matching import presence
from matching.tests.wsutil import eventually, expect, guest_session, open_socket, recv
from matching.types import Preferences
from seendr import keys
from seendr.redis_state import astate, state
from seendr.testing import poolsync

pytestmark = pytest.mark.django_db(transaction=True)


async def test_online_counts_recent_heartbeats_only():
    now = time.time()
    await presence.touch(identity_id="ga", now=now)
    await presence.touch(identity_id="gb", now=now - 30)
    await presence.touch(identity_id="gc", now=now - 61)  # older than the 60 s window
    assert await presence.online_count(now=now) == 2
    assert presence.online_count_sync(now=now) == 2
    assert 0 < await astate().ttl(keys.presence_online()) <= 120
    await presence.remove(identity_id="ga")
    assert await presence.online_count(now=now) == 1


def test_counts_api_reports_online_waiting_and_in_call(client):
    now = time.time()
    state().zadd(keys.presence_online(), {"g1": now, "g2": now, "g3": now, "g4": now - 3600})
    prefs = Preferences.from_client(interests=["chess"])
    assert poolsync.join(identity_id="g1", prefs=prefs, channel_name="c1", now=now) is None
    assert poolsync.join(identity_id="g2", prefs=prefs, channel_name="c2", now=now) is not None
    assert (
        poolsync.join(
            identity_id="g3",
            prefs=Preferences.from_client(interests=["opera"]),
            channel_name="c3",
            now=now,
        )
        is None
    )
    response = client.get("/api/online/")
    assert response.status_code == 200
    assert response.json() == {"online": 3, "waiting": 1, "in_call": 2}


def test_counts_api_answers_503_json_when_redis_is_away(client, settings):
    from seendr import redis_state

    settings.REDIS_STATE_URL = "redis://127.0.0.1:1/1"
    settings.REDIS_SOCKET_TIMEOUT = 0.5
    redis_state.state.cache_clear()
    try:
        response = client.get("/api/online/")
    finally:
        redis_state.state.cache_clear()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_landing_page_shows_the_online_count(client):
    now = time.time()
    state().zadd(keys.presence_online(), {f"g{i}": now for i in range(7)})
    response = client.get("/")
    assert response.status_code == 200
    assert b'data-testid="online-count" id="online-count">7<' in response.content


async def test_broadcast_takes_one_lock_per_window_and_sends_once(settings):
    settings.ONLINE_BROADCAST_SECONDS = 0.5
    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(keys.presence_group(), listener)
    await presence.touch(identity_id="ga", now=time.time())
    took = await asyncio.gather(*(presence.request_broadcast(channel_layer=layer) for _ in range(20)))
    assert sum(took) == 1
    message = await asyncio.wait_for(layer.receive(listener), 2)
    assert message == {"type": "presence.online", "count": 1}
    # The same count is not sent again, even when a new window opens.
    await asyncio.sleep(0.1)
    assert await presence.request_broadcast(channel_layer=layer)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(listener), 1.0)
    await layer.group_discard(keys.presence_group(), listener)


async def test_broadcast_trims_members_older_than_the_window():
    layer = get_channel_layer()
    now = time.time()
    await presence.touch(identity_id="gold", now=now - 500)
    await presence.touch(identity_id="gnew", now=now)
    assert await presence.broadcast_now(channel_layer=layer, now=now) == 1
    assert await astate().zscore(keys.presence_online(), "gold") is None


async def test_sockets_hear_the_online_count_at_most_once_per_window(settings):
    """Arrivals are batched into at most one ``online`` push per window, whatever their pace:
    on a loaded machine the three sockets may open slowly and earn several pushes, but never
    two within one window, and the last one carries the full count."""
    window = settings.ONLINE_BROADCAST_SECONDS = 1.0
    _, a_key = await guest_session()
    a_comm, a_hello = await open_socket(a_key)
    assert a_hello["online"] == 1
    joined = []
    for _ in range(3):  # three arrivals, as fast as the machine opens them
        _, key = await guest_session()
        comm, _ = await open_socket(key)
        joined.append(comm)
    pushes: list[tuple[float, int]] = []
    while not pushes or pushes[-1][1] != 4:
        frame = await recv(a_comm, timeout=10, ignore=set())
        assert frame["type"] == "online", frame
        pushes.append((time.monotonic(), frame["count"]))
    counts = [count for _, count in pushes]
    assert counts == sorted(set(counts)) and len(counts) <= 3, pushes
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(pushes)]
    # Receipt times jitter under load; a push per arrival would land a few ms apart.
    assert all(gap > window / 2 for gap in gaps), pushes
    # No second frame for the same count.
    await asyncio.sleep(window + 0.2)
    assert a_comm.output_queue.empty()
    await joined[0].disconnect()
    frame = await recv(a_comm, timeout=10, ignore=set())
    assert frame == {"type": "online", "count": 3}
    for comm in [a_comm, *joined[1:]]:
        await comm.disconnect()


async def test_heartbeat_keeps_presence_and_socket_record_fresh(settings):
    settings.CHAT_HEARTBEAT_SECONDS = 0.2
    guest, key = await guest_session()
    comm, _ = await open_socket(key)
    first = await astate().zscore(keys.presence_online(), guest.id)

    async def touched_again() -> bool:
        return await astate().zscore(keys.presence_online(), guest.id) > first

    await eventually(touched_again)
    assert await astate().ttl(keys.socket_owner(guest.id)) > 0
    await comm.send_to(text_data='{"type":"ping"}')
    await expect(comm, "pong")
    await comm.disconnect()
    assert await astate().zscore(keys.presence_online(), guest.id) is None
