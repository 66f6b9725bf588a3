"""The Channels layer: channels-redis pub/sub, with less Redis work per message.

``channels_redis.pubsub.RedisPubSubChannelLayer`` publishes every message with its own Redis
round trip, one at a time under a lock per shard: under churn the relays of one process queue
behind each other, one event-loop turn per message (signal relay p99 grew with the load, not
with the work). Two changes, nothing else:

* **Local delivery.** A message for a channel that a consumer of this very process (and event
  loop) listens on is put straight into that channel's queue, serialized as it would have come
  back from Redis. Partners on the same server relay without Redis (every pair when a site runs
  one web process, about 1/N of them with N). A channel on another process is not in the local
  table and goes through Redis as before. Group messages always go through Redis: a group may
  have members anywhere.
* **Coalesced publishes.** Messages that wait for the shard's connection are sent together in
  one pipeline (``seendr.coalesce``: one write, one round trip); each sender still waits for
  its own message to be published and sees its error, as before.

Ordering: messages from one process to one channel keep their order (they take the same path);
a direct message to a local channel may overtake a group message sent just before it, which no
handler relies on (group messages here are presence counts, a newer socket replacing an older
one, bans and friend updates).
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts

from seendr.coalesce import Coalescer


class _CoalescingShard(RedisSingleShardConnection):
    """One shard's connection that publishes whatever is waiting in one pipeline."""

    def __init__(self, host: dict, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        self._publishes: Coalescer[tuple[str, bytes]] = Coalescer(self._publish_batch)

    async def publish(self, channel: str, message: bytes) -> None:
        await self._publishes.submit((channel, message))

    async def _publish_batch(self, batch: list[tuple[str, bytes]]) -> list[Any]:
        async with self._lock:
            self._ensure_redis()
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, message in batch:
                    pipe.publish(channel, message)
                return await pipe.execute()


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, hosts: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, hosts=hosts, **kwargs)
        self._shards = [_CoalescingShard(host, self) for host in decode_hosts(hosts)]

    async def send(self, channel: str, message: dict) -> None:
        local = self.channels.get(channel)
        if local is not None:
            local.put_nowait(self.channel_layer.serialize(message))
            return
        await super().send(channel, message)


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """``RedisPubSubChannelLayer`` with local delivery and coalesced publishes (see above)."""

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
