"""The state role behind Sentinel: a primary, its replica and a Sentinel of the test's own; after
the primary crashes and the Sentinel promotes the replica, the same clients write to the new
primary, and scripts are reloaded there."""

from __future__ import annotations

import time

import pytest
import redis

from seendr import keys, redis_state
from seendr.redis_state import lua, sentinel_target
from seendr.testing.redis_servers import start_redis, start_sentinel

SERVICE = "seendr-state"


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_primarys_options():
    sentinels, service, options = sentinel_target("rediss+sentinel://app:s%40cret@s1:26379,s2/seendr-state/2")
    assert sentinels == [("s1", 26379), ("s2", 6379)]
    assert service == "seendr-state"
    assert options == {"db": 2, "username": "app", "password": "s@cret", "ssl": True}
    with pytest.raises(ValueError):
        sentinel_target("redis+sentinel://s1:26379/")


def _wait(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except redis.RedisError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.05)


def test_the_state_clients_follow_a_failover(tmp_path, settings):
    primary = start_redis(tmp_path / "primary")
    replica = start_redis(tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port))
    servers = [primary, replica]
    try:
        replica_client = redis.Redis(port=replica.port, decode_responses=True)
        _wait(lambda: replica_client.info("replication")["master_link_status"] == "up", "replication")
        sentinel = start_sentinel(tmp_path / "sentinel", SERVICE, primary)
        servers.append(sentinel)
        watcher = redis.Redis(port=sentinel.port, decode_responses=True)
        _wait(
            lambda: any(
                r["master-link-status"] == "ok" and not r["is_disconnected"]
                for r in watcher.sentinel_slaves(SERVICE)
            ),
            "the Sentinel sees a healthy replica",
        )

        settings.REDIS_STATE_URL = f"redis+sentinel://127.0.0.1:{sentinel.port}/{SERVICE}/0"
        redis_state.reset_clients()
        key = keys.idempotency("sentinel-test", "k")
        redis_state.state().set(key, '{"state":"pending","token":"t"}', ex=60)
        _wait(lambda: replica_client.get(key), "the write reaches the replica")

        primary.kill()  # a crash: the Sentinel notices at once and promotes the replica
        _wait(lambda: int(watcher.sentinel_get_master_addr_by_name(SERVICE)[1]) == replica.port, "failover")
        # The first call meets the dead primary's connection and fails; the pool then asks the
        # Sentinel again.
        script = lua("seendr", "idempotency")
        assert _wait(lambda: script.run(redis_state.state(), [key], ["t", '{"state":"done"}', 60]), "a write")
        assert replica_client.get(key) == '{"state":"done"}'  # written on the promoted replica
        replica_client.close()
        watcher.close()
    finally:
        redis_state.reset_clients()
        for server in servers:
            server.stop()
