"""Calls that arrive together, sent together: one Redis round trip for many callers.

Under load, many sockets of one process ask Redis for the same kind of thing in the same
event-loop turn (a rate-limit check per frame, a publish per relayed message). Sent one by one,
each costs its own write, wake-up and read. A :class:`Coalescer` sends the first call at once
and lets every call that arrives while a batch is out wait for the next batch, which goes as
one pipeline. Each caller still awaits its own result and gets its own error; a lone call costs
one extra task hop and nothing else.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

SendBatch = Callable[[list[T]], Awaitable[list[Any]]]


class Coalescer(Generic[T]):
    """Batches ``submit``ted items for ``send_batch`` (one Coalescer per event loop).

    ``send_batch(items)`` returns one result per item, in order; a result that is an exception
    is raised to that item's caller alone, and an exception raised by ``send_batch`` reaches
    every caller of the batch.
    """

    def __init__(self, send_batch: SendBatch[T]) -> None:
        self._send_batch = send_batch
        self._waiting: list[tuple[T, asyncio.Future]] = []
        self._sender: asyncio.Task | None = None

    async def submit(self, item: T) -> Any:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._sender is None:
            self._sender = asyncio.ensure_future(self._send_waiting())
        return await done

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await self._send_batch([item for item, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
                except asyncio.CancelledError:
                    for _, done in batch:
                        done.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 - every caller of the batch gets it
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for (_, done), result in zip(batch, results, strict=False):
                        if done.done():
                            continue  # its caller went away
                        if isinstance(result, Exception):
                            done.set_exception(result)
                        else:
                            done.set_result(result)
        finally:
            self._sender = None
            for _, done in self._waiting:  # stopped (loop shutdown) with calls still waiting
                done.cancel()
            self._waiting = []


_of_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Callable, Coalescer]] = (
    weakref.WeakKeyDictionary()
)


def of_this_loop(send_batch: SendBatch[T]) -> Coalescer[T]:
    """The running event loop's one Coalescer for ``send_batch`` (a batch is sent on the
    connections of the loop its callers run on)."""
    coalescers = _of_loops.setdefault(asyncio.get_running_loop(), {})
    coalescer = coalescers.get(send_batch)
    if coalescer is None:
        coalescer = coalescers[send_batch] = Coalescer(send_batch)
    return coalescer
