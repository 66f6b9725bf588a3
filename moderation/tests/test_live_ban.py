"""A ban reaches a live socket on another server process within a second.

Two real Daphne processes share the Channels Redis layer and the pool. Bob talks to Alice: Bob's
socket is on server A, Alice's on server B. The ban is issued from this (third) process.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from leaderboard import boards
from leaderboard.selectors import board_key
from matching.tests.wsutil import user_session, ws_connect, ws_expect, ws_send
from moderation import services
from seendr import keys
from seendr.identity import user_identity_id
from seendr.redis_state import state

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def closed_with(ws, timeout: float) -> tuple[int | None, list[dict]]:
    """Read until the server closes; returns the close code and the frames seen before it."""
    import json

    frames = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
            frames.append(json.loads(raw))
    except ConnectionClosed:
        return ws.close_code, frames
    except TimeoutError:
        return None, frames


async def test_ban_closes_the_socket_on_another_server_and_tells_the_partner(daphne_server, admin_user):
    server_a, server_b = daphne_server(), daphne_server()
    bob, bob_key = await user_session("bob")
    alice, alice_key = await user_session("alice")
    bob_id, alice_id = user_identity_id(bob.pk), user_identity_id(alice.pk)
    board = board_key(board="likes", period="all", now=timezone.now())
    await sync_to_async(state().zadd)(board, {boards.member(bob.pk): 7})

    bob_ws = await ws_connect(server_a, bob_key)
    alice_ws = await ws_connect(server_b, alice_key)
    await ws_expect(bob_ws, "hello")
    await ws_expect(alice_ws, "hello")
    await ws_send(bob_ws, {"type": "join", "interests": ["chess"]})
    await ws_expect(bob_ws, "queued")
    await ws_send(alice_ws, {"type": "join", "interests": ["chess"]})
    matched = await ws_expect(alice_ws, "matched")
    await ws_expect(bob_ws, "matched")

    started = time.monotonic()
    await database_sync_to_async(services.ban)(
        identity_id=bob_id, until=None, reason="harassment", moderator=admin_user
    )
    # Waits on the events themselves; how fast a ban acts is measured by the benchmarks, not
    # asserted here, where a loaded machine decides the wall time.
    (code, bob_frames), partner_left = await asyncio.gather(
        closed_with(bob_ws, timeout=15), ws_expect(alice_ws, "partner_left", timeout=15)
    )
    elapsed = time.monotonic() - started

    assert code == 4403, (code, bob_frames, server_a.output()[-2000:])
    assert any(f.get("type") == "error" and f.get("code") == "banned" for f in bob_frames), bob_frames
    assert partner_left["reason"] == "banned"
    print(f"ban acted across processes in {elapsed * 1000:.0f} ms")

    client = state()
    assert client.zscore(keys.banned(), bob_id) is not None
    assert not client.exists(keys.ticket(bob_id))
    assert not client.exists(keys.current_match(bob_id))
    assert not client.exists(keys.current_match(alice_id))
    assert not client.sismember(keys.pool_waiting(), bob_id)
    assert client.zscore(board, boards.member(bob.pk)) is None
    assert matched["match_id"]

    # Coming back does not help: a new socket, on either server, is refused with 4403.
    for server in (server_a, server_b):
        again = await ws_connect(server, bob_key)
        code, frames = await closed_with(again, timeout=3)
        assert code == 4403, frames

    # Alice is free and can meet someone else right away.
    await ws_send(alice_ws, {"type": "join", "interests": ["chess"]})
    await ws_expect(alice_ws, "queued")
    await alice_ws.close()
