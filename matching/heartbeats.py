"""One heartbeat per server process for all of its chat sockets.

A per-socket heartbeat task cost several Redis round trips per socket every few seconds; this
refreshes every socket of the process in one pipelined round trip per batch and hands only the
sockets that must act (replaced, partner gone) back to their session.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING

from django.conf import settings

from matching import presence, services

if TYPE_CHECKING:
    from matching.session import ChatSession

log = logging.getLogger(__name__)

# Sockets per pipelined round trip (bounds one reply's size).
HEARTBEAT_BATCH = 500


class Heartbeats:
    """One heartbeat task per server process (event loop) for all of its chat sockets.

    Every ``CHAT_HEARTBEAT_SECONDS`` it refreshes every socket's record, ticket or match and
    presence in one pipelined round trip (:func:`services.heartbeat_sockets`), instead of one
    task and several round trips per socket. Only sockets that need to act (replaced by a newer
    socket, partner gone) take their lock and do more. The liveness guarantees are the
    per-socket ones: records live ``CHAT_SOCKET_TTL_SECONDS``, tickets ``TICKET_TTL_SECONDS``.
    """

    def __init__(self) -> None:
        self.sockets: dict[ChatSession, None] = {}
        self.task: asyncio.Task | None = None
        self.follow_ups: set[asyncio.Task] = set()

    def add(self, session: ChatSession) -> None:
        self.sockets[session] = None
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._loop())

    def discard(self, session: ChatSession) -> None:
        self.sockets.pop(session, None)

    def _follow_up_done(self, task: asyncio.Task) -> None:
        self.follow_ups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("chat heartbeat follow-up failed", exc_info=task.exception())

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while self.sockets:
            # Short naps, so a changed CHAT_HEARTBEAT_SECONDS applies at once (tests shorten it).
            due = last + float(settings.CHAT_HEARTBEAT_SECONDS)
            if loop.time() < due:
                await asyncio.sleep(min(1.0, due - loop.time()))
                continue
            last = loop.time()
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("chat heartbeat of %d sockets failed", len(self.sockets), exc_info=True)
        self.task = None

    async def beat(self) -> None:
        now = time.time()
        pairs = [(c, c.beat_entry()) for c in list(self.sockets)]
        pairs = [(c, e) for c, e in pairs if e is not None]
        if not pairs:
            return
        results: list[services.BeatResult] = []
        for i in range(0, len(pairs), HEARTBEAT_BATCH):
            batch = [e for _, e in pairs[i : i + HEARTBEAT_BATCH]]
            results += await services.heartbeat_sockets(sockets=batch, now=now)
        # Follow-ups run beside the loop: a socket busy under its lock never delays the next beat
        # of the others.
        for (session, entry), result in zip(pairs, results, strict=True):
            if not result.owned or result.partner_suspect:
                task = asyncio.get_running_loop().create_task(session.after_beat(entry, result))
                self.follow_ups.add(task)
                task.add_done_callback(self._follow_up_done)
        if pairs[0][0].channel_layer is not None:
            await presence.request_broadcast(channel_layer=pairs[0][0].channel_layer, from_heartbeat=True)


_beaters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heartbeats] = weakref.WeakKeyDictionary()


def for_this_loop() -> Heartbeats:
    """The heartbeat of the running server process (one per event loop)."""
    loop = asyncio.get_running_loop()
    beater = _beaters.get(loop)
    if beater is None:
        beater = _beaters[loop] = Heartbeats()
    return beater
