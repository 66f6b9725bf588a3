"""One of two Daphne processes is killed with SIGKILL in the middle of calls.

Every pair has one side on each server. After the kill, every partner on the surviving server
must get ``partner_left`` within 30 s, the dead server's waiting ticket must be gone 30 s after
the kill (it is never handed to anyone), and the survivors must be able to meet again at once.
Production timings (heartbeat, ticket and socket TTLs) are left at their defaults.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from tests.faults.helpers import connect_all, pair_up
from tests.faults.stack import Browser, ChatClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PAIRS = 10
PARTNER_LEFT_WITHIN = 30.0


def test_sigkill_one_daphne_mid_call(stack) -> None:
    doomed, survivor = stack.daphne(), stack.daphne()
    browsers = []
    for _ in range(2 * PAIRS + 1):
        b = Browser(doomed.url)
        b.become_guest()
        browsers.append(b)
    asyncio.run(_scenario(stack, doomed, survivor, browsers))


async def _scenario(stack, doomed, survivor, browsers) -> None:
    on_doomed = [
        ChatClient(doomed.ws_url, b.cookie_header(), name=f"doomed{i}")
        for i, b in enumerate(browsers[:PAIRS])
    ]
    on_survivor = [
        ChatClient(survivor.ws_url, b.cookie_header(), name=f"survivor{i}")
        for i, b in enumerate(browsers[PAIRS : 2 * PAIRS])
    ]
    waiter = ChatClient(doomed.ws_url, browsers[-1].cookie_header(), name="waiter")
    await connect_all([*on_doomed, *on_survivor, waiter])
    await asyncio.gather(
        *(pair_up(a, b, f"killfault{i}") for i, (a, b) in enumerate(zip(on_doomed, on_survivor, strict=True)))
    )
    # A relay works across the two servers before the kill.
    await on_doomed[0].send({"type": "signal", "data": {"sdp": "before"}})
    assert (await on_survivor[0].expect("signal", 10))["data"] == {"sdp": "before"}
    # Someone on the doomed server is waiting in the pool with the interest survivors will use.
    await waiter.send({"type": "join", "interests": ["afterkill"]})
    await waiter.expect("queued", 10)
    waiter_id = waiter.hello["you"]["id"]
    dead_ids = [c.hello["you"]["id"] for c in on_doomed] + [waiter_id]

    doomed.kill(signal.SIGKILL)
    killed_at = time.monotonic()

    async def left(c: ChatClient) -> float | None:
        # Wait past the limit (bounded) so a failure can say how late the news came.
        try:
            frame = await c.expect("partner_left", 2 * PARTNER_LEFT_WITHIN)
        except (TimeoutError, ConnectionError):
            return None
        assert frame["reason"] == "disconnect", frame
        return time.monotonic() - killed_at

    delays = await asyncio.gather(*(left(c) for c in on_survivor))
    shown = ", ".join("never" if d is None else f"{d:.1f}s" for d in sorted(delays, key=lambda d: d or 1e9))
    print(f"partner_left after the kill: {shown}")
    late = [d for d in delays if d is None or d > PARTNER_LEFT_WITHIN]
    assert not late, (
        f"{len(late)} of {PAIRS} partners were not told within {PARTNER_LEFT_WITHIN:.0f}s: {shown}"
    )

    await asyncio.sleep(max(0.0, killed_at + 30.5 - time.monotonic()))
    state = json.loads(
        await asyncio.to_thread(
            stack.shell,
            "import json\nfrom seendr import keys\nfrom seendr.redis_state import state\n"
            f"ids = {json.dumps(dead_ids)}\n"
            "r = state()\n"
            "print(json.dumps({'tickets': [i for i in ids if r.exists(keys.ticket(i))],"
            " 'current': [i for i in ids if r.exists(keys.current_match(i))]}))\n",
        )
    )
    assert state["tickets"] == [], f"ghost tickets 30 s after the kill: {state}"
    assert state["current"] == [], f"dead sockets still recorded in a match: {state}"

    # The survivors meet again at once: each other, never the dead waiter.
    t0 = time.monotonic()
    for c in on_survivor:
        await c.send({"type": "join", "interests": ["afterkill"]})
    frames = await asyncio.gather(*(c.expect("matched", 10) for c in on_survivor))
    assert time.monotonic() - t0 < 10
    assert len({f["match_id"] for f in frames}) == PAIRS // 2, [f["match_id"] for f in frames]
    dead_names = {waiter.hello["you"]["name"], *(c.hello["you"]["name"] for c in on_doomed)}
    live_names = {c.hello["you"]["name"] for c in on_survivor}
    for c, f in zip(on_survivor, frames, strict=True):
        assert f["partner"]["name"] in live_names - {c.hello["you"]["name"]}, (c.name, f, dead_names)
    for c in [*on_survivor, *on_doomed, waiter]:
        await c.close()
