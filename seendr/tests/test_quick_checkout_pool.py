"""The state role's asyncio pool hands out clean connections without probing them, and still
catches a connection that holds an unread reply (real Redis)."""

from __future__ import annotations

import asyncio

from django.conf import settings

from seendr import redis_state
from seendr.redis_state import QuickCheckoutPool


def client():
    return redis_state.async_client_for_url(
        settings.REDIS_STATE_URL, max_connections=1, decode_responses=True, socket_timeout=2
    )


async def test_the_state_client_uses_the_quick_pool():
    assert isinstance(client().connection_pool, QuickCheckoutPool)


async def test_a_clean_connection_is_handed_out_without_a_probe():
    r = client()
    key = f"{settings.SEENDR_KEY_PREFIX}quickpool:clean"
    await r.set(key, "1")  # connects the pool's one connection
    connection = r.connection_pool._available_connections[0]
    probes = []
    probe = connection.can_read_destructive

    async def counted():
        probes.append(1)
        return await probe()

    connection.can_read_destructive = counted
    for _ in range(20):
        assert await r.get(key) == "1"
    assert probes == []
    await r.delete(key)
    await r.aclose()


async def test_a_connection_holding_an_unread_reply_is_reset_before_reuse():
    r = client()
    key = f"{settings.SEENDR_KEY_PREFIX}quickpool:stale"
    await r.set(key, "fresh")
    pool = r.connection_pool
    connection = await pool.get_connection()
    await connection.send_command("PING")  # its reply is never read
    await asyncio.sleep(0.05)  # the reply reaches the connection's stream
    await pool.release(connection)
    # Handed out as it was, the next command would read the stale "PONG".
    assert await r.get(key) == "fresh"
    assert await r.ping() is True
    await r.delete(key)
    await r.aclose()


async def test_a_connection_closed_by_the_server_is_reconnected():
    r = client()
    await r.ping()
    connection = r.connection_pool._available_connections[0]
    await r.client_kill_filter(_id=await _client_id(connection, r))
    await asyncio.sleep(0.05)  # the end of stream reaches the connection
    assert await r.ping() is True


async def _client_id(connection, r) -> int:
    # CLIENT ID on the pool's one connection, by taking it out of the pool and back.
    pool = r.connection_pool
    taken = await pool.get_connection()
    assert taken is connection
    await taken.send_command("CLIENT", "ID")
    client_id = int(await taken.read_response())
    await pool.release(taken)
    return client_id
