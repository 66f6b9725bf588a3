"""The channel layer (``seendr.channel_layer``) against the real Redis: local channels skip
Redis, others go through it in order, and a failed publish reaches every waiting sender. Two
layer objects stand for two server processes (each has its own table of local channels)."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import redis
import redis.asyncio
from django.conf import settings

from seendr.channel_layer import PubSubChannelLayer
from seendr.testing.servers import free_port


@pytest.fixture
async def layers():
    """Layer objects of one site (one prefix), closed after the test."""
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    prefix = f"{config['prefix']}{secrets.token_hex(4)}"
    made: list[PubSubChannelLayer] = []

    def make(hosts: list[str] | None = None) -> PubSubChannelLayer:
        made.append(PubSubChannelLayer(hosts=hosts or config["hosts"], prefix=prefix))
        return made[-1]

    yield make
    for layer in made:
        await layer.flush()


async def test_a_message_for_a_channel_of_this_process_skips_redis(layers):
    layer = layers()
    channel = await layer.new_channel()
    # A bystander subscribed to the same name on Redis sees what went through Redis.
    url = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    bystander = redis.asyncio.Redis.from_url(url)
    pubsub = bystander.pubsub()
    await pubsub.subscribe(channel)
    try:
        await layer.send(channel, {"type": "relay.signal", "data": {"sdp": "v=0"}})
        assert await layer.receive(channel) == {"type": "relay.signal", "data": {"sdp": "v=0"}}
        await bystander.publish(channel, b"marker")
        first = await pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
        while first is None:
            first = await pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
        assert first["data"] == b"marker"  # the layer's own message never went through Redis
    finally:
        await pubsub.aclose()
        await bystander.aclose()


async def test_messages_for_another_process_go_through_redis_in_order(layers):
    sender, receiver = layers(), layers()
    channel = await receiver.new_channel()
    messages = [{"type": "relay.signal", "n": n} for n in range(200)]
    await asyncio.gather(*(sender.send(channel, m) for m in messages))
    assert [await receiver.receive(channel) for _ in messages] == messages


async def test_group_messages_reach_members_here_and_elsewhere(layers):
    here, there = layers(), layers()
    mine, theirs = await here.new_channel(), await there.new_channel()
    await here.group_add("g", mine)
    await there.group_add("g", theirs)
    await here.group_send("g", {"type": "presence.online", "count": 2})
    assert await here.receive(mine) == {"type": "presence.online", "count": 2}
    assert await there.receive(theirs) == {"type": "presence.online", "count": 2}


async def test_a_failed_publish_reaches_every_waiting_sender(layers):
    dead = layers([f"redis://127.0.0.1:{free_port()}/0"])
    results = await asyncio.gather(
        *(dead.send(f"elsewhere.{n}", {"type": "relay.signal"}) for n in range(5)),
        dead.group_send("g", {"type": "presence.online", "count": 1}),
        return_exceptions=True,
    )
    assert len(results) == 6
    assert all(isinstance(r, redis.ConnectionError) for r in results), results
