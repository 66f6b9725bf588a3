"""A call between two Daphne processes sharing one Redis: ring, decline, ring again, accept, talk."""

from __future__ import annotations

import asyncio

import pytest

from matching.tests.friendutil import make_friends
from matching.tests.wsutil import user_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def test_a_call_rings_across_servers_and_becomes_a_match(daphne_server):
    one = daphne_server(CALL_DECLINED_COOLDOWN_SECONDS="1")
    two = daphne_server(CALL_DECLINED_COOLDOWN_SECONDS="1")
    ada, ada_key = await user_session("ada")
    bob, bob_key = await user_session("bob")
    await make_friends(ada, bob)
    async with await ws_connect(one, ada_key) as a, await ws_connect(two, bob_key) as b:
        await ws_expect(a, "hello")
        await ws_expect(b, "hello")

        await ws_send(a, {"type": "call", "username": "bob"})
        first = await ws_expect(a, "ringing")
        incoming = await ws_expect(b, "incoming_call")
        assert incoming["call_id"] == first["call_id"] and incoming["from"]["username"] == "ada"
        await ws_send(b, {"type": "answer", "call_id": incoming["call_id"], "accept": False})
        assert (await ws_expect(a, "call_ended"))["reason"] == "declined"
        await ws_expect(b, "call_ended")

        await asyncio.sleep(1.2)  # the (shortened) re-ring cooldown
        await ws_send(a, {"type": "call", "username": "bob"})
        await ws_expect(a, "ringing")
        incoming = await ws_expect(b, "incoming_call")
        await ws_send(b, {"type": "answer", "call_id": incoming["call_id"], "accept": True})
        b_matched = await ws_expect(b, "matched")
        a_matched = await ws_expect(a, "matched")
        assert a_matched["match_id"] == b_matched["match_id"]
        assert a_matched["friend"] is True and b_matched["initiator"] is True

        await ws_send(b, {"type": "signal", "data": {"type": "offer", "sdp": "v=0"}})
        assert (await ws_expect(a, "signal"))["data"] == {"type": "offer", "sdp": "v=0"}
        await ws_send(a, {"type": "chat", "text": "across servers"})
        assert (await ws_expect(b, "chat"))["text"] == "across servers"
        await ws_send(a, {"type": "leave"})
        assert (await ws_expect(b, "partner_left"))["reason"] == "leave"
    for server in (one, two):
        assert "Traceback" not in server.output(), server.output()
