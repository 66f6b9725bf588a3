"""Messages from several ASGI sources, handled one at a time, without a task per message.

Channels' ``await_many_dispatch`` waits for the next message of each source in a task of its
own and wraps them in ``asyncio.wait``: every frame and every channel-layer message costs a new
Task, a waiter future and done-callbacks added to and taken off each task, several percent of a
busy web process. Here each source has one long-lived pump feeding a queue that holds at most one
message per source (so a source is read no further ahead than before), and the consumer takes
them in turn. A source that fails stops the loop with its error, as it did there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Source = Callable[[], Awaitable[Any]]


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def dispatch_in_turn(sources: Sequence[Source], dispatch: Callable[[Any], Awaitable[None]]) -> None:
    """``await dispatch(message)`` for every message of every source, one at a time, until a
    dispatch or a source raises (that error leaves here; the pumps are stopped)."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=len(sources))

    async def pump(source: Source) -> None:
        try:
            while True:
                await queue.put(await source())
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001 - handed to the loop, which raises it
            await queue.put(_Failed(error))

    pumps = [asyncio.ensure_future(pump(source)) for source in sources]
    try:
        while True:
            message = await queue.get()
            if isinstance(message, _Failed):
                raise message.error
            await dispatch(message)
    finally:
        for task in pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task
