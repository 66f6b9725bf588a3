"""Two Daphne processes sharing one Redis: people on different servers meet and talk."""

from __future__ import annotations

import pytest
import websockets

from matching.tests.wsutil import guest_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def test_people_on_two_servers_match_and_exchange_signal_and_chat(daphne_server):
    one, two = daphne_server(), daphne_server()
    _a_identity, a_key = await guest_session()
    b_identity, b_key = await guest_session()
    async with await ws_connect(one, a_key) as a, await ws_connect(two, b_key) as b:
        await ws_expect(a, "hello")
        await ws_expect(b, "hello")
        await ws_send(a, {"type": "join", "interests": ["jazz"]})
        await ws_expect(a, "queued")
        await ws_send(b, {"type": "join", "interests": ["jazz"]})
        b_matched = await ws_expect(b, "matched")
        a_matched = await ws_expect(a, "matched")
        assert a_matched["match_id"] == b_matched["match_id"]
        assert (a_matched["initiator"], b_matched["initiator"]) == (False, True)
        assert a_matched["partner"]["name"] == b_identity.name

        await ws_send(b, {"type": "signal", "data": {"type": "offer", "sdp": "v=0"}})
        assert (await ws_expect(a, "signal"))["data"] == {"type": "offer", "sdp": "v=0"}
        await ws_send(a, {"type": "signal", "data": {"type": "answer", "sdp": "v=0"}})
        assert (await ws_expect(b, "signal"))["data"] == {"type": "answer", "sdp": "v=0"}
        await ws_send(a, {"type": "chat", "text": "hello from one"})
        assert (await ws_expect(b, "chat"))["text"] == "hello from one"
        await ws_send(b, {"type": "chat", "text": "hello from two"})
        assert (await ws_expect(a, "chat"))["text"] == "hello from two"

        await ws_send(a, {"type": "next"})
        assert (await ws_expect(b, "partner_left"))["reason"] == "next"
        await ws_expect(a, "queued")
    for server in (one, two):
        assert "Traceback" not in server.output(), server.output()


async def test_the_newer_socket_wins_across_servers(daphne_server):
    one, two = daphne_server(), daphne_server()
    _, key = await guest_session()
    async with await ws_connect(one, key) as older:
        await ws_expect(older, "hello")
        async with await ws_connect(two, key) as newer:
            await ws_expect(newer, "hello")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await older.recv()
            assert closed.value.rcvd.code == 4409
            await ws_send(newer, {"type": "ping"})
            await ws_expect(newer, "pong")


async def test_a_disconnect_on_one_server_reaches_the_partner_on_the_other(daphne_server):
    one, two = daphne_server(), daphne_server()
    _, a_key = await guest_session()
    _, b_key = await guest_session()
    async with await ws_connect(two, b_key) as b:
        await ws_expect(b, "hello")
        async with await ws_connect(one, a_key) as a:
            await ws_expect(a, "hello")
            await ws_send(a, {"type": "join", "interests": ["go"]})
            await ws_expect(a, "queued")
            await ws_send(b, {"type": "join", "interests": ["go"]})
            await ws_expect(b, "matched")
            await ws_expect(a, "matched")
        assert (await ws_expect(b, "partner_left"))["reason"] == "disconnect"


async def test_forbidden_origin_gets_4403_over_a_real_server(daphne_server):
    server = daphne_server()
    _, key = await guest_session()
    async with await ws_connect(server, key, origin="http://evil.example") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4403
