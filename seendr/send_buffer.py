"""A bound on what the server holds for one WebSocket whose reader does not read.

Daphne writes each outgoing frame to its Twisted transport at once; when the peer stops reading
(a tiny receive window, a stalled phone, an attacker), the bytes pile up in that transport's
buffer without end: a partner relaying 63 KB ``signal`` frames grew a server by 90 MiB in 30 s.

:class:`SendBufferLimit` wraps the ASGI ``send`` of every socket. Before each frame it asks how
many bytes the server still holds unsent for this connection; above
``settings.WEBSOCKET_SEND_BUFFER_BYTES`` it sends the close frame with code 4408 and aborts the
TCP connection, which frees the buffer at once (a polite close would queue behind the backlog
that nobody reads). The consumer then sees an ordinary disconnect and cleans up as always
(the partner hears ``partner_left``). So one socket costs at most the bound plus one frame
(64 KiB) of server memory, besides the kernel's own socket buffers.

It also drops a frame sent after the peer has gone: a client that sends ``leave`` and closes at
once leaves the application answering a socket Daphne already closed, which autobahn refuses
with ``Disconnected``. The disconnect event is on its way; the frame has nobody to reach, and a
traceback in the log for it would only hide real ones.

The backlog is read from Daphne's Twisted transport (the server this project runs); under a
server that does not expose one, frames pass untouched and that server's own flow control
applies.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from autobahn.exception import Disconnected
from django.conf import settings

log = logging.getLogger(__name__)

CLOSE_SLOW_READER = 4408

Send = Callable[[dict], Awaitable[None]]


def _transport(send: Send) -> Any | None:
    """Daphne hands each application ``partial(server.handle_reply, protocol)``."""
    if isinstance(send, functools.partial) and send.args:
        transport = getattr(send.args[0], "transport", None)
        if transport is not None and hasattr(transport, "dataBuffer") and hasattr(transport, "_tempDataLen"):
            return transport
    return None


def unsent_bytes(transport: Any) -> int:
    """Bytes a Twisted transport holds that the kernel has not taken yet."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class SendBufferLimit:
    """ASGI middleware: drop a WebSocket whose unsent backlog passes the bound (close 4408)."""

    def __init__(self, inner: Callable[..., Awaitable[Any]]) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Send) -> Any:
        transport = _transport(send) if scope.get("type") == "websocket" else None
        if transport is None:
            return await self.inner(scope, receive, send)
        limit = settings.WEBSOCKET_SEND_BUFFER_BYTES
        dropped = False

        async def bounded_send(message: dict) -> None:
            nonlocal dropped
            if dropped:
                return  # the application talks on until it hears the disconnect
            if message.get("type") == "websocket.send":
                backlog = unsent_bytes(transport)
                if backlog > limit:
                    dropped = True
                    log.warning(
                        "websocket %s: the peer does not read (%d bytes unsent): dropped with %d",
                        scope.get("connection_id", "-"),
                        backlog,
                        CLOSE_SLOW_READER,
                    )
                    await send({"type": "websocket.close", "code": CLOSE_SLOW_READER})
                    transport.abortConnection()
                    return
            try:
                await send(message)
            except Disconnected:
                dropped = True  # the peer left first: see the module docstring

        return await self.inner(scope, receive, bounded_send)
