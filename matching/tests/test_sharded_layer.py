"""Two Daphne processes whose channel layer shards over two separate Redis servers
(``REDIS_CHANNELS_URL`` as a comma-separated list): two people whose sockets sit on different
servers, and whose channels sit on different shards, meet and talk."""

from __future__ import annotations

import contextlib

import pytest
import redis
from django.conf import settings

from matching.tests.wsutil import guest_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Each new socket lands on a shard by a hash of its random channel name: a few tries find one
# on the other shard (a miss per try is 1/2; 24 misses in a row is one in sixteen million).
MAX_TRIES = 24


def _socket_channels(shard: redis.Redis) -> set[bytes]:
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    return set(shard.pubsub_channels(f"{prefix}specific.*"))


async def _open_on_shard(stack, server, shards: list[redis.Redis], *, not_on: int | None):
    """Open sockets on ``server`` until one's channel is on a shard other than ``not_on``;
    returns (socket, its identity, its shard index)."""
    for _ in range(MAX_TRIES):
        before = [_socket_channels(shard) for shard in shards]
        identity, key = await guest_session()
        ws = await stack.enter_async_context(await ws_connect(server, key))
        await ws_expect(ws, "hello")
        new = [_socket_channels(shard) - seen for shard, seen in zip(shards, before, strict=True)]
        (index,) = [i for i, channels in enumerate(new) if channels]
        if index != not_on:
            return ws, identity, index
        await ws.close()
    raise AssertionError(f"no socket landed off shard {not_on} in {MAX_TRIES} tries")


async def test_people_on_two_servers_and_two_shards_match_and_talk(daphne_server, channel_layer_shards):
    env = {"REDIS_CHANNELS_URL": ",".join(channel_layer_shards)}
    one, two = daphne_server(**env), daphne_server(**env)
    shards = [redis.Redis.from_url(url) for url in channel_layer_shards]
    async with contextlib.AsyncExitStack() as stack:
        a, _a_identity, a_shard = await _open_on_shard(stack, one, shards, not_on=None)
        b, b_identity, b_shard = await _open_on_shard(stack, two, shards, not_on=a_shard)
        assert {a_shard, b_shard} == {0, 1}

        await ws_send(a, {"type": "join", "interests": ["jazz"]})
        await ws_expect(a, "queued")
        await ws_send(b, {"type": "join", "interests": ["jazz"]})
        b_matched = await ws_expect(b, "matched")
        a_matched = await ws_expect(a, "matched")
        assert a_matched["match_id"] == b_matched["match_id"]
        assert a_matched["partner"]["name"] == b_identity.name

        await ws_send(b, {"type": "signal", "data": {"type": "offer", "sdp": "v=0"}})
        assert (await ws_expect(a, "signal"))["data"] == {"type": "offer", "sdp": "v=0"}
        await ws_send(a, {"type": "chat", "text": "across the shards"})
        assert (await ws_expect(b, "chat"))["text"] == "across the shards"

        await ws_send(a, {"type": "next"})
        assert (await ws_expect(b, "partner_left"))["reason"] == "next"
    for shard in shards:
        shard.close()
    for server in (one, two):
        assert "Traceback" not in server.output(), server.output()
