"""Friends' calls with pool shards: a call and the match it becomes live in the default shard
(``other``), whatever the two people's home shards, and leave the callee's waiting ticket
wherever it was."""

from __future__ import annotations

import time

import pytest

from matching import pool
from matching.tests.test_calls import close, friends_online, ring
from matching.tests.test_pool_shards import SHARDS
from matching.tests.wsutil import expect, send
from matching.types import Preferences
from seendr import keys, pool_shards
from seendr.redis_state import astate
from seendr.testing.fixtures import mark_ban_mirror_complete

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_callee_waiting_in_its_home_shard_accepts_and_the_call_is_a_match_in_other(settings):
    settings.MATCH_POOL_SHARDS = SHARDS
    mark_ban_mirror_complete()
    (ada, a), (bob, b) = await friends_online("ada", "bob")
    # Bob waits in "en" (not alone there, so he stays at home).
    await pool.join(
        identity_id="gzed",
        prefs=Preferences(interests=("zither",), lang="en"),
        channel_name="chan.gzed",
        now=time.time(),
        shard="en",
    )
    await send(b, {"type": "join", "interests": ["opera"], "lang": "en"})
    await expect(b, "queued")
    assert await astate().sismember(keys.pool_waiting("en"), f"u{bob.pk}")
    _, incoming = await ring(a, b, "bob")
    await send(b, {"type": "answer", "call_id": incoming["call_id"], "accept": True})
    matched = await expect(b, "matched")
    assert matched["friend"] is True and (await expect(a, "matched"))["friend"] is True
    assert pool_shards.of_match(matched["match_id"]) == "other"
    for shard in pool_shards.names():  # out of the pool, and in no shard's waiting set
        assert not await astate().exists(keys.ticket(f"u{bob.pk}", shard))
    current = await pool.current_match(identity_id=f"u{ada.pk}", shard="other")
    assert current is not None and current[0] == matched["match_id"]
    await send(a, {"type": "chat", "text": "hi friend"})
    assert (await expect(b, "chat"))["text"] == "hi friend"
    await send(a, {"type": "leave"})
    await expect(a, "left")
    assert (await expect(b, "partner_left"))["reason"] == "leave"
    assert await pool.current_match(identity_id=f"u{bob.pk}", shard="other") is None
    await close(a, b)
