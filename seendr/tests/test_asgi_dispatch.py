"""``dispatch_in_turn``: every message of every source, in each source's order, one at a time;
a source or a dispatch that fails ends the loop with its error and stops the pumps."""

from __future__ import annotations

import asyncio

import pytest

from seendr.asgi_dispatch import dispatch_in_turn


class Source:
    """Messages put in by the test; counts how far the loop has read."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.taken = 0

    async def __call__(self):
        message = await self.queue.get()
        self.taken += 1
        if isinstance(message, BaseException):
            raise message
        return message


class Stop(Exception):
    pass


async def run_until(sources, stop_after: int, *, slow: float = 0.0):
    seen = []

    async def dispatch(message):
        seen.append(message)
        if slow:
            await asyncio.sleep(slow)
        if len(seen) == stop_after:
            raise Stop

    with pytest.raises(Stop):
        await asyncio.wait_for(dispatch_in_turn(sources, dispatch), 5)
    return seen


async def test_every_message_of_every_source_in_each_sources_order():
    client, layer = Source(), Source()
    for n in range(50):
        client.queue.put_nowait(("client", n))
        layer.queue.put_nowait(("layer", n))
    seen = await run_until([client, layer], 100)
    assert [m for m in seen if m[0] == "client"] == [("client", n) for n in range(50)]
    assert [m for m in seen if m[0] == "layer"] == [("layer", n) for n in range(50)]


async def test_one_message_at_a_time_and_no_source_read_far_ahead():
    client = Source()
    for n in range(20):
        client.queue.put_nowait(n)
    active = 0
    most = 0
    ahead = []

    async def dispatch(message):
        nonlocal active, most
        active += 1
        most = max(most, active)
        ahead.append(client.taken - (message + 1))
        await asyncio.sleep(0.001)
        active -= 1
        if message == 19:
            raise Stop

    with pytest.raises(Stop):
        await asyncio.wait_for(dispatch_in_turn([client], dispatch), 5)
    assert most == 1
    assert max(ahead) <= 2  # the queue's one message and the one the pump holds


async def test_a_failing_source_ends_the_loop_with_its_error():
    client, layer = Source(), Source()
    layer.queue.put_nowait(ConnectionError("layer lost"))
    with pytest.raises(ConnectionError, match="layer lost"):
        await asyncio.wait_for(dispatch_in_turn([client, layer], lambda m: asyncio.sleep(0)), 5)


async def test_the_pumps_stop_with_the_loop():
    client = Source()
    client.queue.put_nowait("only")
    await run_until([client], 1)
    await asyncio.sleep(0.01)
    client.queue.put_nowait("after")
    await asyncio.sleep(0.01)
    assert client.taken == 1 and client.queue.qsize() == 1


async def test_cancelling_the_loop_stops_the_pumps():
    client = Source()
    task = asyncio.ensure_future(dispatch_in_turn([client], lambda m: asyncio.sleep(0)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    client.queue.put_nowait("late")
    await asyncio.sleep(0.01)
    assert client.taken == 0
