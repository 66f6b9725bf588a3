"""Redis dies (all four roles, nothing persisted) while 20 pairs are in calls, then comes back empty.

What a user must see: no page and no profile answer is a 500 while it is down (the profile
cache degrades to PostgreSQL), ``/readyz`` says 503, sockets come back (clients reconnect as the
chat page does), matching works again within 5 s of Redis returning, and the leaderboards are
rebuilt from PostgreSQL with nothing lost.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.helpers import connect_all, create_accounts, log_in, pair_up
from tests.faults.stack import ChatClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PAIRS = 20
DOWN_SECONDS = 6.0


def test_redis_restart_during_calls(stack) -> None:
    server = stack.daphne()
    names = create_accounts(stack, "redisfault", 2 * PAIRS)
    browsers = [log_in(server, n) for n in names]
    asyncio.run(_scenario(stack, server, names, browsers))


async def _scenario(stack, server, names, browsers) -> None:
    clients = [
        ChatClient(server.ws_url, b.cookie_header(), name=n) for n, b in zip(names, browsers, strict=True)
    ]
    await connect_all(clients)
    pairs = [(clients[2 * i], clients[2 * i + 1]) for i in range(PAIRS)]
    await asyncio.gather(*(pair_up(a, b, f"redisfault{i}") for i, (a, b) in enumerate(pairs)))
    # Likes: durable rows in PostgreSQL, and the live leaderboard.
    for a, _ in pairs:
        await a.send({"type": "like"})
    await asyncio.gather(*(a.expect("liked", 10) for a, _ in pairs))
    http = browsers[0]
    before = http.get("/api/leaderboard/likes/?period=all&limit=100")
    assert before.status == 200, before.text[:300]
    board_before = {(e["username"], e["score"]) for e in before.json()["entries"]}
    assert len(board_before) == PAIRS, before.json()
    profile_name = names[1]

    # --- Redis goes away --------------------------------------------------------------------
    stack.redis.stop()
    down_at = time.monotonic()
    seen: dict[str, set[int]] = {}
    pages = [
        "/",
        "/leaderboard/",
        f"/u/{profile_name}/",
        f"/api/profiles/{profile_name}/",
        "/readyz",
        "/accounts/login/",
        "/api/online/",
        "/api/leaderboard/likes/?period=all",
    ]
    while time.monotonic() - down_at < DOWN_SECONDS:
        for path in pages:
            resp = await asyncio.to_thread(http.get, path)
            seen.setdefault(path, set()).add(resp.status)
            assert resp.status != 500, f"{path} answered 500 with Redis down:\n{resp.text[:800]}"
        await asyncio.sleep(0.3)
    print("statuses while Redis was down:", seen)
    assert seen["/readyz"] == {503}, seen
    assert seen[f"/api/profiles/{profile_name}/"] == {200}, (
        f"the profile API did not degrade to PostgreSQL: {seen}"
    )
    resp = await asyncio.to_thread(http.get, f"/api/profiles/{profile_name}/")
    assert resp.json()["username"] == profile_name

    # --- Redis is back (empty) ----------------------------------------------------------------
    stack.redis.start()
    back_at = time.monotonic()
    # Matching works again within 5 s: two fresh sockets of two of the accounts.
    a, b = clients[0], clients[1]
    for c in (a, b):
        await c.close()
    deadline = back_at + 5.0
    matched = False
    last_error: Exception | None = None
    while time.monotonic() < deadline and not matched:
        try:
            await connect_all([a, b], timeout=max(0.5, deadline - time.monotonic()))
            await pair_up(a, b, "redisfault-after", timeout=max(0.5, deadline - time.monotonic()))
            matched = True
        except Exception as exc:
            last_error = exc
            for c in (a, b):
                await c.close()
            await asyncio.sleep(0.2)
    assert matched, f"no match within 5 s of Redis returning: {last_error!r}"
    assert time.monotonic() - back_at <= 5.5

    # The other 38 sockets: past one server heartbeat (the socket records were lost with Redis),
    # each is open or reconnects like the chat page does, then meets someone and relays a signal.
    await asyncio.sleep(max(0.0, back_at + 12.0 - time.monotonic()))
    rest = clients[2:]
    reconnected = 0
    for c in rest:
        if c.closed.is_set():
            reconnected += 1
            await c.close()
            await c.connect(10)
    print(f"sockets the outage closed, reconnected: {reconnected} of {len(rest)}")

    async def call(i: int, x: ChatClient, y: ChatClient) -> None:
        await pair_up(x, y, f"redisfault-again{i}")
        await x.send({"type": "signal", "data": {"sdp": f"offer {i}"}})
        got = await y.expect("signal", 10)
        assert got["data"] == {"sdp": f"offer {i}"}

    await asyncio.gather(*(call(i, rest[2 * i], rest[2 * i + 1]) for i in range(len(rest) // 2)))

    # Leaderboards come back from PostgreSQL, nothing lost.
    done = await asyncio.to_thread(stack.manage, "rebuild_leaderboards", "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    after = await asyncio.to_thread(http.get, "/api/leaderboard/likes/?period=all&limit=100")
    assert after.status == 200, after.text[:300]
    board_after = {(e["username"], e["score"]) for e in after.json()["entries"]}
    assert board_after == board_before
    for c in clients:
        await c.close()
