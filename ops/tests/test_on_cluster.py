"""The ops readings when the state role is a Redis Cluster and the channel layer is sharded."""

import redis

from ops import stats


def test_redis_memory_sums_every_cluster_primary_and_every_channel_shard(
    state_on_cluster, channel_layer_shards, settings
):
    settings.REDIS_CHANNELS_URL = ",".join(channel_layer_shards)
    memory = stats.redis_memory()
    one_shard = redis.Redis.from_url(channel_layer_shards[0]).info("memory")["used_memory"]
    assert memory["channels"]["used_bytes"] > one_shard  # two servers summed
    per_node = [c.info("memory")["used_memory"] for c in state_on_cluster.clients()]
    assert memory["state"]["used_bytes"] >= sum(per_node) * 0.9
    assert memory["state"]["used_bytes"] > max(per_node) * 2
    assert memory["state"]["policy"] and memory["channels"]["policy"]
