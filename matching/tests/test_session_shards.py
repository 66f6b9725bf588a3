"""ChatSession with pool shards: a session remembers the shard its ticket or match is in, so its
next, leave and heartbeat reach that shard, and a match id finds its shard by itself."""

from __future__ import annotations

import time

from matching import pool, selectors, services
from matching.session import IDLE, MATCHED, WAITING
from matching.tests.test_pool_shards import sharded, where  # noqa: F401 - the fixture
from matching.tests.test_session import chess, frames, pump, sessions  # noqa: F401 - the fixture
from matching.types import Preferences
from seendr import keys
from seendr.redis_state import astate


async def test_a_match_at_home_is_ended_beaten_and_left_in_its_own_shard(sharded, sessions):  # noqa: F811
    await database_free_park("gzed", "de")
    a, b = await sessions("Ann"), await sessions("Bob")
    await a.join(chess("de"))
    assert a.state == WAITING and a.shard == "de"
    await b.join(chess("de"))
    await pump(a)
    assert a.state == b.state == MATCHED and a.shard == b.shard == "de"
    match_id = a.match.match_id
    assert match_id.startswith("de-") and await astate().get(keys.current_match(a.identity.id, "de"))
    # The process heartbeat reads each side's current match in its shard: nothing looks off.
    entries = [a.beat_entry(), b.beat_entry()]
    results = await services.heartbeat_sockets(sockets=entries, now=time.time())
    assert [r.partner_suspect for r in results] == [False, False]
    assert selectors.match_partner(match_id=match_id, identity_id=b.identity.id) == a.identity.id
    await a.next()
    assert (await pump(b))["match_id"] == match_id and b.state == IDLE
    assert a.state == WAITING and a.shard == "de"  # the placeholder keeps "de" from being empty
    await a.leave()
    assert where(a.identity.id) == []


async def test_a_lone_session_crosses_to_other_and_meets_there(sharded, sessions):  # noqa: F811
    a, b = await sessions("Ann"), await sessions("Bob")
    await a.join(Preferences(interests=("chess",), lang=None))  # any language: home is "other"
    assert a.state == WAITING and a.shard == "other"
    await b.join(chess("de"))  # "de" is empty: Bob moves to "other" at once and meets Ann
    assert b.state == MATCHED and b.shard == "other"
    await pump(a)
    assert a.state == MATCHED and a.match.match_id == b.match.match_id
    assert a.match.match_id.startswith("other-")
    assert frames(b).of_type("matched")[0]["common_interests"] == ["chess"]
    await b.leave()
    assert (await pump(a))["reason"] == "leave" and a.state == IDLE
    assert await astate().get(keys.current_match(a.identity.id, "other")) is None


async def database_free_park(ident: str, shard: str) -> None:
    """``park`` for async tests: a ticket in one shard nobody here matches."""
    await pool.join(
        identity_id=ident,
        prefs=Preferences(interests=("zither",), lang=shard),
        channel_name=f"chan.{ident}",
        now=time.time(),
        shard=shard,
    )
