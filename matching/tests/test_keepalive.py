"""Sockets outlive every Redis lifetime as long as the server's heartbeat keeps them.

The ticket of a waiting socket, each socket's record, the current match and presence all expire
in Redis unless the process heartbeat refreshes them. A real Daphne serves with every lifetime
shortened to ``LIFETIME`` seconds and a fast beat; a waiting socket and a call are held for
more than three lifetimes, then must still work: the waiting one is matched at once by a
newcomer (its ticket is still in the pool), the call still relays both ways and nobody was told
``partner_left``. The widening stages and the wait loop's retries are pushed past the test, so
the waiting socket never re-joins by itself: only the heartbeat keeps its ticket.

Black-box (a WebSocket client against a server process), so it holds whatever the consumer's
insides look like.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest

from matching.tests.wsutil import guest_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LIFETIME = 2  # seconds; the settings are whole seconds
HELD = 3 * LIFETIME + 0.5
NEVER = "3600"  # seconds: no widening stage or retry falls inside the test

SHORT_LIVES = {
    "TICKET_TTL_SECONDS": str(LIFETIME),
    "CHAT_SOCKET_TTL_SECONDS": str(LIFETIME),
    "MATCH_CURRENT_TTL_SECONDS": str(LIFETIME),
    "PRESENCE_WINDOW_SECONDS": str(LIFETIME),
    # Eight beats per lifetime: a loaded machine may delay a few without a lapse.
    "CHAT_HEARTBEAT_SECONDS": str(LIFETIME / 8),
    "MATCH_INTEREST_SECONDS": NEVER,
    "MATCH_ANYONE_SECONDS": NEVER,
    "CHAT_RETRY_SECONDS": NEVER,
}


async def _counts(server) -> dict:
    def get() -> dict:
        with urllib.request.urlopen(f"{server.url}/api/online/", timeout=10) as resp:
            return json.load(resp)

    return await asyncio.to_thread(get)


async def test_a_waiting_socket_and_a_call_outlive_three_lifetimes(daphne_server):
    server = daphne_server(**SHORT_LIVES)
    keys = [(await guest_session())[1] for _ in range(4)]
    async with (
        await ws_connect(server, keys[0]) as caller,
        await ws_connect(server, keys[1]) as callee,
        await ws_connect(server, keys[2]) as waiting,
    ):
        for ws in (caller, callee, waiting):
            await ws_expect(ws, "hello")
        await ws_send(callee, {"type": "join", "interests": ["keepalive-call"]})
        await ws_expect(callee, "queued")
        await ws_send(caller, {"type": "join", "interests": ["keepalive-call"]})
        match_id = (await ws_expect(caller, "matched"))["match_id"]
        assert (await ws_expect(callee, "matched"))["match_id"] == match_id
        await ws_send(waiting, {"type": "join", "interests": ["keepalive-wait"]})
        await ws_expect(waiting, "queued")

        held_from = time.monotonic()
        await asyncio.sleep(HELD)
        assert time.monotonic() - held_from >= 3 * LIFETIME

        # The call still relays, both ways, with no partner_left in between (ws_expect fails
        # on any frame but the expected one and the `online` pushes).
        await ws_send(caller, {"type": "signal", "data": {"sdp": "offer-after-three-lifetimes"}})
        assert (await ws_expect(callee, "signal"))["data"] == {"sdp": "offer-after-three-lifetimes"}
        await ws_send(callee, {"type": "chat", "text": "still here"})
        assert (await ws_expect(caller, "chat"))["text"] == "still here"

        # Presence and the pool still count them.
        assert await _counts(server) == {"online": 3, "waiting": 1, "in_call": 2}

        # The waiting ticket is still in the pool: a newcomer is paired with it on joining.
        async with await ws_connect(server, keys[3]) as newcomer:
            await ws_expect(newcomer, "hello")
            await ws_send(newcomer, {"type": "join", "interests": ["keepalive-wait"]})
            found = await ws_expect(newcomer, "matched")
            assert (await ws_expect(waiting, "matched"))["match_id"] == found["match_id"]
            await ws_send(waiting, {"type": "chat", "text": "found you"})
            assert (await ws_expect(newcomer, "chat"))["text"] == "found you"
            assert await _counts(server) == {"online": 4, "waiting": 0, "in_call": 4}

    assert "Traceback" not in server.output(), server.output()
