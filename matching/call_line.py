"""One chat socket's side of direct calls: the call it places or is rung by, and its ring timer.

The socket's state machine (idle, waiting, matched) owns a :class:`CallLine` and calls it with its
lock held; the line's timer takes the same lock. The line talks to Redis through
``matching.calls`` and to the other side's socket (on any server) through the channel layer:
``call.incoming`` to ring, ``call.ended`` when a ringing call ends without a match. An accepted
call becomes a match the usual way: the callee's socket enters it as the initiator and sends
``match.found`` with the ``call_id``, which the caller's socket recognises with :meth:`expects`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.utils.translation import gettext as _

from matching import calls
from matching.types import FrameError, Pairing
from seendr.identity import Identity

log = logging.getLogger(__name__)


class CallLine:
    def __init__(
        self,
        *,
        identity: Identity,
        channel_name: str,
        channel_layer: Any,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        lock: asyncio.Lock,
    ) -> None:
        self.identity = identity
        self.channel_name = channel_name  # the socket's own channel
        self.channel_layer = channel_layer
        self.send = send  # sends a frame to this socket's client
        self.lock = lock  # the socket's: held around every call below, taken by the timer
        self.call: calls.Call | None = None
        self._timer: asyncio.Task | None = None

    # --- Placing and receiving ----------------------------------------------------------------

    async def place(self, *, username: str) -> None:
        """Ring the friend ``username`` (FrameError when that is not possible)."""
        if self.call is not None:
            raise FrameError("already_calling", _("You are already on a call."))
        call, invite = await calls.ring(
            caller=self.identity, caller_channel=self.channel_name, username=username, now=time.time()
        )
        self.call = call
        await self.send(
            {
                "type": "ringing",
                "call_id": call.call_id,
                "to": {"username": call.peer_username, "name": call.peer_name},
                "expires_in": int(calls.ring_seconds()),
            }
        )
        await self._tell_peer(call, invite)
        self._start_timer(call, calls.ring_seconds())

    async def ring_in(self, event: dict[str, Any], *, busy: bool) -> None:
        """A friend's socket rings this one (``busy``: this socket got into a match meanwhile)."""
        call = calls.incoming(event=event)
        if busy or self.call is not None:
            await self._end(call, calls.UNAVAILABLE, tell_me=False)
            return
        self.call = call
        await self.send(
            {
                "type": "incoming_call",
                "call_id": call.call_id,
                "from": {"username": call.peer_username, "name": call.peer_name},
                "expires_in": max(0, round(call.expires_at - time.time())),
            }
        )
        # Backstop for a caller whose server died: this side ends it a little later.
        self._start_timer(call, call.expires_at + calls.GRACE_SECONDS - time.time())

    # --- Answering ------------------------------------------------------------------------------

    def take(self, call_id: str) -> calls.Call:
        """The incoming call ``call_id``, now answered (the line is free again), or FrameError."""
        call = self.call
        if call is None or call.role != calls.CALLEE or call.call_id != call_id:
            raise FrameError("call_gone", _("This call is over."))
        self._forget()
        return call

    async def decline(self, call: calls.Call) -> None:
        await self._end(call, calls.DECLINED)

    async def accept(self, call: calls.Call, *, my_card: str) -> Pairing | None:
        """Turn the call into a live match and tell the caller's socket; None (both sides told)
        when that is too late."""
        try:
            pairing = await calls.accept(
                call=call, me=self.identity.id, my_channel=self.channel_name, my_card=my_card, now=time.time()
            )
        except calls.CallBusy:
            await self._tell_peer(call, calls.ended_message(call=call, reason=calls.UNAVAILABLE))
            await self.send(calls.ended_frame(call=call, reason=calls.UNAVAILABLE))
            return None
        except calls.CallGone:
            await self.send(calls.ended_frame(call=call, reason=calls.CANCELLED))
            return None
        found = calls.found_message(
            pairing=pairing,
            call_id=call.call_id,
            my_id=self.identity.id,
            my_channel=self.channel_name,
            my_card=my_card,
        )
        await self._tell_peer(call, found)
        return pairing

    # --- Ending ---------------------------------------------------------------------------------

    def expects(self, call_id: str | None) -> bool:
        """Whether a ``match.found`` with this ``call_id`` is this line's call being answered."""
        return call_id is not None and self.call is not None and self.call.call_id == call_id

    async def entering_match(self, *, call_id: str | None) -> None:
        """The socket enters a match: its own answered call, or the pool's (the call cannot go on)."""
        if self.call is not None and self.call.call_id != call_id:
            await self.hang_up(calls.UNAVAILABLE)
        self._forget()

    async def drop(self) -> None:
        """The socket leaves or goes away: the caller cancels, a callee becomes unavailable."""
        if self.call is not None:
            await self.hang_up(calls.CANCELLED if self.call.role == calls.CALLER else calls.UNAVAILABLE)

    async def cancel_outgoing(self) -> None:
        """Start or Next while placing a call cancels it; an incoming call keeps ringing."""
        if self.call is not None and self.call.role == calls.CALLER:
            await self.hang_up(calls.CANCELLED)

    async def hang_up(self, reason: str) -> None:
        """End this line's ringing call, if any, and tell both sides."""
        call = self.call
        if call is None:
            return
        state = await self._end(call, reason)
        if state == "accepted" and call.role == calls.CALLER:
            return  # answered a moment ago: match.found is on its way and ends the ringing
        self._forget()

    async def ended(self, event: dict[str, Any]) -> None:
        """The other side ended the ringing call."""
        call = self.call
        if call is None or call.call_id != event.get("call_id"):
            return
        self._forget()
        await self.send(calls.ended_frame(call=call, reason=str(event["reason"])))

    def stop(self) -> None:
        """The socket is gone: no timer may outlive it."""
        self._cancel_timer()

    # --- Plumbing -------------------------------------------------------------------------------

    async def _end(self, call: calls.Call, reason: str, *, tell_me: bool = True) -> str:
        state = await calls.end_call(call=call, me=self.identity.id, reason=reason)
        if state == "ended":
            await self._tell_peer(call, calls.ended_message(call=call, reason=reason))
            if tell_me:
                await self.send(calls.ended_frame(call=call, reason=reason))
        return state

    async def _tell_peer(self, call: calls.Call, message: dict[str, Any]) -> None:
        try:
            await self.channel_layer.send(call.peer_channel, message)
        except Exception:  # a lost peer is not this side's error; its timer or the TTLs end the call
            log.warning("could not reach %s about call %s", call.peer_id, call.call_id, exc_info=True)

    def _forget(self) -> None:
        self.call = None
        self._cancel_timer()

    def _start_timer(self, call: calls.Call, delay: float) -> None:
        self._cancel_timer()
        self._timer = asyncio.create_task(self._timeout(call, delay))

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None

    async def _timeout(self, call: calls.Call, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))
        async with self.lock:
            if self.call is None or self.call.call_id != call.call_id:
                return
            self._timer = None
            try:
                await self.hang_up(calls.TIMEOUT)
            except Exception:
                log.exception("call %s: ending it unanswered failed", call.call_id)
