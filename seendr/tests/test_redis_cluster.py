"""The state role on a real local Redis Cluster (three masters): cluster URLs, both clients, and
the Lua loader's NoScript fallback on every shard."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

import pytest
import redis
import redis.cluster

from seendr import keys, redis_state
from seendr.redis_state import cluster_seeds, is_cluster_url, lua
from seendr.testing.servers import free_port


def test_a_cluster_url_names_seed_nodes_and_keeps_credentials_and_options():
    plain, seeds = cluster_seeds(
        "rediss+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002/?ssl_cert_reqs=none"
    )
    assert plain == "rediss://app:s%40cret@10.0.0.1:7000/?ssl_cert_reqs=none"
    assert seeds == [("10.0.0.1", 7000), ("10.0.0.2", 6379), ("[::1]", 7002)]
    assert is_cluster_url("redis+cluster://h:1") and not is_cluster_url("redis://h:1/0")
    with pytest.raises(ValueError):
        cluster_seeds("redis+cluster://")


def _urlsplit_checking_brackets(url: str):
    """``urlsplit`` as Pythons with the bracketed-netloc check behave (Debian's 3.11, 3.12.x
    security releases): text before a ``[`` in the host part is refused."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if "[" in host and not host.startswith("["):
        raise ValueError("Invalid IPv6 URL")
    return parts


def test_ipv6_seeds_after_the_first_parse_on_pythons_that_check_brackets(monkeypatch):
    monkeypatch.setattr(redis_state, "urlsplit", _urlsplit_checking_brackets)
    plain, seeds = cluster_seeds("redis+cluster://10.0.0.1:7000,[::1]:7002/0")
    assert (plain, seeds) == ("redis://10.0.0.1:7000/0", [("10.0.0.1", 7000), ("[::1]", 7002)])
    assert is_cluster_url("redis+cluster://10.0.0.1:7000,[::1]:7002")
    sentinels, service, options = redis_state.sentinel_target(
        "redis+sentinel://s1:26379,[::1]:26380/seendr/3"
    )
    assert (sentinels, service, options["db"]) == ([("s1", 26379), ("[::1]", 26380)], "seendr", 3)


def test_an_unreachable_cluster_is_an_ordinary_connection_error(settings):
    settings.REDIS_STATE_URL = f"redis+cluster://127.0.0.1:{free_port()}"
    settings.REDIS_SOCKET_TIMEOUT = 0.3
    redis_state.reset_clients()
    try:
        with pytest.raises(redis.ConnectionError):
            redis_state.state().ping()
    finally:
        redis_state.reset_clients()


async def test_an_unreachable_cluster_is_an_ordinary_connection_error_async(settings):
    settings.REDIS_STATE_URL = f"redis+cluster://127.0.0.1:{free_port()}"
    settings.REDIS_SOCKET_TIMEOUT = 0.3
    redis_state.reset_clients()
    try:
        with pytest.raises(redis.ConnectionError):
            await redis_state.astate().ping()
    finally:
        redis_state.reset_clients()


def _flush_scripts(cluster) -> None:
    for client in cluster.clients():
        client.script_flush()
        client.close()


def _keys_on_every_node(count: int) -> list[str]:
    """Untagged keys: their slots fall on all three masters."""
    return [keys.idempotency("cluster-test", f"k{i}") for i in range(count)]


def test_both_clients_are_cluster_clients_and_keys_spread_over_the_masters(state_on_cluster):
    client = redis_state.state()
    assert isinstance(client, redis.cluster.RedisCluster)
    for key in _keys_on_every_node(30):
        client.set(key, "1", ex=60)
    per_node = [c.dbsize() for c in state_on_cluster.clients()]
    assert all(n > 0 for n in per_node), per_node


def test_a_script_runs_on_the_shard_of_its_key_and_reloads_after_a_script_flush(state_on_cluster):
    script = lua("seendr", "idempotency")
    client = redis_state.state()
    targets = _keys_on_every_node(12)
    for key in targets:
        client.set(key, '{"state":"pending","token":"t"}', ex=60)
    _flush_scripts(state_on_cluster)  # every shard forgot the script (a restart, a failover)
    for key in targets:
        assert script.run(client, [key], ["t", '{"state":"done"}', 60]) == 1
        assert client.get(key) == '{"state":"done"}'


def test_a_pipeline_of_scripts_across_shards_reloads_once_and_succeeds(state_on_cluster):
    script = lua("seendr", "idempotency")
    client = redis_state.state()
    targets = _keys_on_every_node(12)
    for key in targets:
        client.set(key, '{"state":"pending","token":"t"}', ex=60)
    _flush_scripts(state_on_cluster)

    def send() -> list:
        pipe = client.pipeline(transaction=False)
        for key in targets:
            script.queue(pipe, [key], ["t", "", 60])
        return pipe.execute(raise_on_error=False)

    assert redis_state.execute_with_scripts(client, [script], send) == [1] * len(targets)
    assert client.exists(*targets) == 0


async def test_the_asyncio_client_runs_scripts_on_the_cluster_and_reloads_them(state_on_cluster):
    script = lua("seendr", "idempotency")
    client = redis_state.astate()
    targets = _keys_on_every_node(6)
    for key in targets:
        await client.set(key, '{"state":"pending","token":"t"}', ex=60)
    _flush_scripts(state_on_cluster)
    for key in targets:
        assert await script.arun(client, [key], ["t", '{"state":"done"}', 60]) == 1

    async def send() -> list:
        async with client.pipeline(transaction=False) as pipe:
            for key in targets:
                script.queue(pipe, [key], ["t", "", 60])
            return await pipe.execute(raise_on_error=False)

    for key in targets:
        await client.set(key, '{"state":"pending","token":"t"}', ex=60)
    _flush_scripts(state_on_cluster)
    assert await redis_state.aexecute_with_scripts(client, [script], send) == [1] * len(targets)
    assert await client.exists(*targets) == 0


def test_a_burst_on_fresh_asyncio_clients_succeeds_every_call(state_on_cluster):
    """Every event loop gets a fresh cluster client; a burst of concurrent calls on it must not
    race the client's first slot-map build."""
    script = lua("seendr", "idempotency")
    failures: list[BaseException] = []
    done: list[int] = []

    def loop_main(n: int) -> None:
        async def main() -> None:
            client = redis_state.astate()
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with sem:
                    try:
                        await script.arun(client, [keys.idempotency("burst", f"{n}.{i}")], ["t", "", 60])
                        done.append(1)
                    except Exception as exc:  # collected, asserted below
                        failures.append(exc)

            try:
                await asyncio.gather(*(one(i) for i in range(100)))
            finally:
                await client.aclose()

        asyncio.run(main())

    threads = [threading.Thread(target=loop_main, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(done) == 400
