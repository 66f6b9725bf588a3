"""The coalescer: calls that arrive while a batch is out go together in the next one, each
caller gets its own result or error, and a failed batch fails every caller of it."""

from __future__ import annotations

import asyncio
import time

from django.conf import settings as django_settings
from django.test import override_settings

from seendr import ratelimit
from seendr.coalesce import Coalescer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()

    async def send(self, items: list[int]) -> list:
        self.batches.append(items)
        await self.release.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_calls_that_arrive_while_a_batch_is_out_go_together_in_order():
    recorder = Recorder()
    coalescer = Coalescer(recorder.send)
    first = asyncio.ensure_future(coalescer.submit(0))
    await asyncio.sleep(0)  # the first batch goes out alone
    later = [asyncio.ensure_future(coalescer.submit(i)) for i in (2, 4, 6)]
    while not recorder.batches:
        await asyncio.sleep(0)
    recorder.release.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [20, 40, 60]
    assert recorder.batches == [[0], [2, 4, 6]]


async def test_an_error_reply_reaches_its_own_caller_only():
    recorder = Recorder()
    recorder.release.set()
    coalescer = Coalescer(recorder.send)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(4)), return_exceptions=True)
    assert results[0] == 0 and results[2] == 20
    assert isinstance(results[1], ValueError) and str(results[1]) == "odd 1"
    assert isinstance(results[3], ValueError) and str(results[3]) == "odd 3"


async def test_a_failed_batch_fails_every_caller_and_the_next_batch_goes_out():
    calls = 0

    async def send(items: list[int]) -> list:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("down")
        return items

    coalescer = Coalescer(send)
    failed = await asyncio.gather(*(coalescer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in failed)
    assert await coalescer.submit(7) == 7


@override_settings(RATE_LIMITS={**django_settings.RATE_LIMITS, "t": "25/1m"})
async def test_concurrent_async_checks_are_batched_in_order_and_never_exceed_the_limit():
    now = time.time()
    decisions = await asyncio.gather(
        *(ratelimit.acheck(scope="t", subject="same", now=now) for _ in range(200))
    )
    assert [d.allowed for d in decisions] == [True] * 25 + [False] * 175
