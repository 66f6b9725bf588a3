"""A matched pair stays usable after sitting idle longer than redis-py's old 5 s read timeout.

channels-redis's core layer blocks in BZPOPMIN while a socket is idle; with redis-py 8.x's
default ``socket_timeout`` every consumer died some 5-10 s after connecting (channels_redis#422).
This runs real Daphne processes (one per channel-layer backend, idle at the same time) and a
real WebSocket client, so only a working stack passes.
"""

from __future__ import annotations

import asyncio

import pytest

from matching.tests.wsutil import guest_session, user_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BACKENDS = ("channels_redis.pubsub.RedisPubSubChannelLayer", "channels_redis.core.RedisChannelLayer")


async def _idle_pair(server, username: str) -> None:
    _, a_key = await guest_session()
    _, b_key = await user_session(username)
    async with await ws_connect(server, a_key) as a, await ws_connect(server, b_key) as b:
        await ws_expect(a, "hello")
        await ws_expect(b, "hello")
        await ws_send(a, {"type": "join", "interests": [username]})
        await ws_expect(a, "queued")
        await ws_send(b, {"type": "join", "interests": [username]})
        match_id = (await ws_expect(b, "matched"))["match_id"]
        assert (await ws_expect(a, "matched"))["match_id"] == match_id

        await asyncio.sleep(15)

        await ws_send(b, {"type": "signal", "data": {"sdp": "offer-after-idle"}})
        assert (await ws_expect(a, "signal"))["data"] == {"sdp": "offer-after-idle"}
        await ws_send(a, {"type": "chat", "text": "still there?"})
        assert (await ws_expect(b, "chat"))["text"] == "still there?"
        await ws_send(a, {"type": "ping"})
        await ws_expect(a, "pong")


async def test_matched_pairs_idle_for_15_seconds_still_relay(daphne_server):
    servers = [daphne_server(CHANNEL_LAYER_BACKEND=backend) for backend in BACKENDS]
    await asyncio.gather(*(_idle_pair(server, f"idle{i}") for i, server in enumerate(servers)))
    for server in servers:
        assert "Timeout reading" not in server.output()
        assert "Traceback" not in server.output(), server.output()
