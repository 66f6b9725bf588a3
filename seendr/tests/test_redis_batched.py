"""``redis_state.batched``: small writes of many callers share one pipeline, and each caller
gets its own replies or its own error (real Redis)."""

from __future__ import annotations

import asyncio

import redis
from django.conf import settings

from seendr.redis_state import astate, batched


def key(name: str) -> str:
    return f"{settings.SEENDR_KEY_PREFIX}batched:{name}"


async def test_callers_that_arrive_together_each_get_their_replies():
    lists = [key(f"list{n}") for n in range(40)]
    replies = await asyncio.gather(
        *(batched([("RPUSH", k, "a", "b"), ("LTRIM", k, 0, 0), ("EXPIRE", k, 60)]) for k in lists)
    )
    assert replies == [[2, True, True]] * 40
    for k in lists:
        assert await astate().lrange(k, 0, -1) == ["a"]
        assert 0 < await astate().ttl(k) <= 60
    await astate().delete(*lists)


async def test_an_error_reaches_its_own_caller_alone():
    await astate().set(key("string"), "x")
    good, bad = await asyncio.gather(
        batched([("LPUSH", key("fine"), "1")]),
        batched([("LPUSH", key("string"), "1")]),  # WRONGTYPE
        return_exceptions=True,
    )
    assert good == [1]
    assert isinstance(bad, redis.ResponseError)
    assert await astate().lrange(key("fine"), 0, -1) == ["1"]
    await astate().delete(key("fine"), key("string"))


async def test_a_lone_call_is_sent_at_once():
    assert await asyncio.wait_for(batched([("SET", key("lone"), "1", "EX", 5)]), 2) == [True]
    assert await astate().get(key("lone")) == "1"
    await astate().delete(key("lone"))
