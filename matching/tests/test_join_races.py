"""Joins racing the wait loop's retries, on a real server over real sockets.

Waiting sockets re-run the matcher every 0.1 s (past a 0.1 s interest stage) while others join
at the same moment, some of them twice in a row. Whatever the interleaving, every socket ends in
exactly one match, both sides of a match are told the same id, nobody is told twice, and the
pool is empty afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import json
import urllib.request

import pytest

from matching.tests.wsutil import guest_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SOCKETS = 12
RACING = {
    "MATCH_INTEREST_SECONDS": "0.1",
    "MATCH_ANYONE_SECONDS": "0.2",
    "CHAT_RETRY_SECONDS": "0.1",
}


async def _counts(server) -> dict:
    def get() -> dict:
        with urllib.request.urlopen(f"{server.url}/api/online/", timeout=10) as resp:
            return json.load(resp)

    return await asyncio.to_thread(get)


async def _until_matched(ws) -> list[dict]:
    """Every frame up to and including the first ``matched`` (``queued`` may come 0..2 times)."""
    frames = []
    while True:
        frame = await ws_expect_any(ws, {"queued", "matched"})
        frames.append(frame)
        if frame["type"] == "matched":
            return frames


async def ws_expect_any(ws, types: set[str], timeout: float = 20.0) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == "online":
            continue
        assert frame["type"] in types, frame
        return frame


async def test_joins_racing_retries_pair_everyone_exactly_once(daphne_server):
    server = daphne_server(**RACING)
    keys = [(await guest_session())[1] for _ in range(SOCKETS)]
    sockets = [await ws_connect(server, key) for key in keys]
    try:
        for ws in sockets:
            await ws_expect(ws, "hello")

        async def join(i: int, ws) -> list[dict]:
            # A third of them send join twice at once: the second is a re-join while waiting
            # (or, if the first already matched, refused with already_matched).
            await asyncio.sleep((i % 4) * 0.05)  # joins land across several retry rounds
            await ws_send(ws, {"type": "join", "interests": [f"race{i % 3}"]})
            if i % 3 == 0:
                await ws_send(ws, {"type": "join", "interests": [f"race{i % 3}"]})
            return await _until_matched(ws)

        seen = await asyncio.gather(*(join(i, ws) for i, ws in enumerate(sockets)))
        matched = [frames[-1] for frames in seen]
        per_match = collections.Counter(frame["match_id"] for frame in matched)
        assert sorted(per_match.values()) == [2] * (SOCKETS // 2), per_match
        for match_id in per_match:
            initiators = [f["initiator"] for f in matched if f["match_id"] == match_id]
            assert sorted(initiators) == [False, True], (match_id, initiators)

        # Nobody is told of a second match, and a double join's leftovers are errors at most.
        for ws in sockets:
            await ws_send(ws, {"type": "ping"})
        for ws in sockets:
            while True:
                frame = await ws_expect_any(ws, {"pong", "error"})
                if frame["type"] == "pong":
                    break
                if frame["type"] == "error":
                    assert frame["code"] == "already_matched", frame
        assert await _counts(server) == {"online": SOCKETS, "waiting": 0, "in_call": SOCKETS}
    finally:
        for ws in sockets:
            await ws.close()
    assert "Traceback" not in server.output(), server.output()
