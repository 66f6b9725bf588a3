"""The chat socket while the state Redis or PostgreSQL is away, at socket level, on real servers.

The state role (pool, presence, socket records, rate limits) runs on a Redis of its own, so the
test can stop it while the cache, the Channels layer and the broker stay up, as when one server of
a production deployment dies. What a client must see:

* connecting while a store is down: the socket is accepted, then closed with 1011 ("try again
  later"), which the chat page treats as a reason to reconnect with backoff, not as final;
* a store failing under an open socket: frames that need it answer an ``unavailable`` error and
  the socket stays open; when the store is back the same socket joins and matches again;
* ``join`` while matched: an ``already_matched`` error, and the call goes on.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.faults.helpers import connect_all, create_accounts, log_in, pair_up
from tests.faults.stack import ROOT, Browser, ChatClient, RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TRY_AGAIN = 1011


def _page_final_close_codes() -> set[int]:
    """The close codes after which the chat page gives up instead of reconnecting."""
    source = (ROOT / "static" / "js" / "chat" / "socket.js").read_text()
    found = re.search(r"FINAL_CODES\s*=\s*new Set\(\[([^\]]*)\]", source)
    assert found, "socket.js no longer declares FINAL_CODES"
    return {int(code) for code in re.findall(r"\d+", found.group(1))}


def _guest(server) -> Browser:
    browser = Browser(server.url)
    browser.become_guest()
    return browser


async def _closed_with(client: ChatClient, timeout: float = 15) -> int:
    await asyncio.wait_for(client.closed.wait(), timeout)
    return client.ws.close_code


async def _refused_connect(server, browser: Browser, name: str) -> int:
    client = ChatClient(server.ws_url, browser.cookie_header(), name=name)
    try:
        await client.connect(10)
    except ConnectionError:
        pass  # closed before hello: what we expect
    else:
        raise AssertionError(f"{name}: got hello while a store was down: {client.hello}")
    code = await _closed_with(client)
    await client.close()
    return code


def test_chat_socket_through_a_state_redis_outage(stack) -> None:
    state = RedisServer(stack.workdir / "state")
    state.start()
    try:
        server = stack.daphne(REDIS_STATE_URL=state.url(1), CHAT_HEARTBEAT_SECONDS="1")
        # Accounts: a guest's identity lives in the state role and would go with it.
        browsers = [log_in(server, name) for name in create_accounts(stack, "stateout", 3)]
        asyncio.run(_state_outage(state, server, browsers))
        assert server.alive()
    finally:
        state.stop()


async def _state_outage(state: RedisServer, server, browsers: list[Browser]) -> None:
    a, b = (
        ChatClient(server.ws_url, br.cookie_header(), name=n) for br, n in zip(browsers, "ab", strict=False)
    )
    await connect_all([a, b])
    await pair_up(a, b, "outage-before")

    # join while matched: refused with a clear code; the call carries on.
    await a.send({"type": "join", "interests": ["outage-before"]})
    refused = await a.expect("error")
    assert refused["code"] == "already_matched", refused
    await a.send({"type": "chat", "text": "still talking"})
    assert (await b.expect("chat"))["text"] == "still talking"

    # The state Redis dies under open sockets: a frame that needs it is refused, the socket stays.
    state.stop()
    await a.send({"type": "leave"})
    unavailable = await a.expect("error")
    assert unavailable["code"] == "unavailable", unavailable
    await a.send({"type": "ping"})
    await a.expect("pong")
    assert not a.closed.is_set() and not b.closed.is_set(), "a socket closed on a store failure"

    # Connecting while it is down: accepted, then 1011, which the page retries.
    code = await _refused_connect(server, browsers[2], "c")
    assert code == TRY_AGAIN, code
    assert TRY_AGAIN not in _page_final_close_codes()

    # Back, empty (a crash without persistence): the call's record went with it, so both sides
    # are told it ended; the same sockets then meet again and relay, and the refused one connects.
    state.start()
    for client in (a, b):
        assert (await client.expect("partner_left", 15))["reason"] == "disconnect"
    await pair_up(a, b, "outage-after")
    await a.send({"type": "signal", "data": {"sdp": "after the outage"}})
    assert (await b.expect("signal"))["data"] == {"sdp": "after the outage"}
    c = ChatClient(server.ws_url, browsers[2].cookie_header(), name="c")
    await c.connect(10)
    for client in (a, b, c):
        await client.close()


def test_chat_socket_connecting_while_postgres_is_down(stack) -> None:
    server = stack.daphne()
    up, down = _guest(server), _guest(server)
    stack.redis.client(0).flushdb()  # the cache role: sessions must come from PostgreSQL
    stack.pg.stop()
    try:
        code = asyncio.run(_refused_connect(server, down, "during"))
        assert code == TRY_AGAIN, code
    finally:
        stack.pg.start()
    assert server.alive()

    async def after() -> None:
        a = ChatClient(server.ws_url, up.cookie_header(), name="a")
        b = ChatClient(server.ws_url, down.cookie_header(), name="b")
        await connect_all([a, b])
        await pair_up(a, b, "pg-after")
        for client in (a, b):
            await client.close()

    asyncio.run(after())
