"""The chat WebSocket ``/ws/chat/`` (docs/protocol.md): an adapter around a :class:`ChatSession`.

It accepts the socket, checks the origin and the session, parses and rate-limits each frame,
hands it to the session, and sends what the session says. The live state machine (idle,
waiting, matched), the wait loop and the recovery rules are the session's (``matching/session.py``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from matching import frames, presence, services, socket_caps
from matching.frame_limits import FrameLimits
from matching.session import ChatSession, banned_frame
from matching.types import MatchingUnavailable
from seendr import keys, networks, ratelimit
from seendr.asgi_dispatch import dispatch_in_turn
from seendr.errors import ServiceError
from seendr.i18n import language_from_scope

log = logging.getLogger(__name__)

CLOSE_NO_SESSION = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_TOO_MANY = 4429  # too many sockets from one network, or opened too often by one identity
CLOSE_UNAVAILABLE = 1011  # the standard "server error" code: the client may retry later

# Channel-layer messages the session handles itself, by its method of the same name.
SESSION_MESSAGES = frozenset(
    {
        "match_found",
        "partner_left",
        "identity_replaced",
        "identity_banned",
        "identity_kick",
        "call_incoming",
        "call_ended",
        "friends_added",
        "friends_asked",
        "friends_removed",
        "relay_chat",
    }
)


def _guarded(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A channel-layer handler must never kill the socket: log and carry on."""

    @functools.wraps(handler)
    async def wrapper(self: ChatConsumer, event: dict) -> None:
        if self.session is None:
            return
        try:
            await handler(self, event)
        except Exception:
            log.exception("chat socket %s: %s failed", self.channel_name, event.get("type"))

    return wrapper


class ChatConsumer(AsyncWebsocketConsumer):
    session: ChatSession | None = None
    limits: FrameLimits  # set with the session
    language: str = settings.LANGUAGE_CODE  # the page's language (seendr.i18n), chosen at connect
    closed = False
    network = ""  # hash of the client's network (seendr.networks), "" when unknown
    _holds_slot = False  # counted against its network's socket cap (matching.socket_caps)

    # --- Lifecycle --------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self._serve(scope, receive, send)
        finally:
            # Killed without a disconnect (server shutdown, application timeout): stop our tasks.
            if self.session is not None:
                self.session.cancel_tasks()
            self._release_slot()

    async def _serve(self, scope, receive, send) -> None:
        """Channels' ``AsyncConsumer.__call__`` (4.3) with ``dispatch_in_turn`` in place of its
        ``await_many_dispatch``: no task per frame or channel-layer message."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            await dispatch_in_turn((receive, self.channel_receive), self.dispatch)

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch without its per-message ``aclose_old_connections()``.

        That call is a ``sync_to_async`` hop through the one thread-sensitive executor for every
        frame and every channel-layer message, which is most of what an idle socket costs. This
        consumer never touches the ORM on the event loop: every database access goes through
        ``database_sync_to_async``, which closes stale connections in its own thread.
        """
        name = get_handler_name(message)
        handler = self._to_session if name in SESSION_MESSAGES else getattr(self, name, None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if message["type"] == "websocket.connect":
            # LocaleMiddleware never runs for a socket: the page's language is chosen here, for
            # this connection's task (translation state is per task), and stays for every
            # message it handles and every task the session starts.
            self.language = language_from_scope(self.scope)
            translation.activate(self.language)
        await handler(message)

    async def connect(self) -> None:
        # Accept first: a refusal before accept reaches the browser as 1006, never as our code.
        await self.accept()
        try:
            await self._open()
        except Exception:
            # Postgres or Redis away at connect: a clean 1011 lets the client retry later.
            log.exception("chat socket: connect failed")
            await self.close_socket(CLOSE_UNAVAILABLE, "temporarily unavailable")

    async def _open(self) -> None:
        if not self._origin_allowed():
            await self.close_socket(CLOSE_FORBIDDEN, "forbidden origin")
            return
        client_ip = networks.scope_client_ip(self.scope)
        self.network = networks.hash_ip(client_ip) if client_ip else ""
        if not socket_caps.admit(self.network):
            await self.send_frame(
                frames.error_frame("too_many_sockets", _("Too many open chat sockets from your network."))
            )
            await self.close_socket(CLOSE_TOO_MANY, "too many sockets from this network")
            return
        self._holds_slot = True
        identity = await services.identity_from_scope(self.scope)
        if identity is None:
            await self.close_socket(CLOSE_NO_SESSION, "no user or guest session")
            return
        opened = await ratelimit.acheck(scope="ws_connect", subject=identity.id)
        if not opened.allowed:
            await self.send_frame(ratelimit.error_frame(opened))
            await self.close_socket(CLOSE_TOO_MANY, "socket opened too often")
            return
        now = time.time()
        until = await services.ban_until(identity_id=identity.id, now=now, network=self.network)
        if until is not None:
            await self.send_frame(banned_frame(until, "banned"))
            await self.close_socket(CLOSE_FORBIDDEN, "banned")
            return
        if self.network:
            # A ban of this identity then reaches the network it uses (moderation reads it).
            await networks.arecord(identity_id=identity.id, ip_hash=self.network)
        card = await services.card_for(identity)
        await self.channel_layer.group_add(keys.identity_group(identity.id), self.channel_name)
        self.limits = FrameLimits(subject=identity.id)
        self.session = ChatSession(
            identity=identity, transport=self, card=card, network=self.network, language=self.language
        )
        await self.session.start(now=now)
        await self.channel_layer.group_add(keys.presence_group(), self.channel_name)
        await presence.request_broadcast(channel_layer=self.channel_layer)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        self._release_slot()
        session = self.session
        if session is None:
            return
        await session.stop()
        try:
            await self.channel_layer.group_discard(
                keys.identity_group(session.identity.id), self.channel_name
            )
            await self.channel_layer.group_discard(keys.presence_group(), self.channel_name)
        except Exception:
            log.warning("chat socket %s: group clean-up failed", session.identity.id, exc_info=True)
        await presence.request_broadcast(channel_layer=self.channel_layer)

    def _release_slot(self) -> None:
        if self._holds_slot:
            self._holds_slot = False
            socket_caps.release(self.network)

    def _origin_allowed(self) -> bool:
        origin = None
        for name, value in self.scope.get("headers", []):
            if name == b"origin":
                origin = value.decode("latin-1").strip().rstrip("/").lower()
        if not origin:
            return False
        allowed = {o.strip().rstrip("/").lower() for o in settings.WEBSOCKET_ALLOWED_ORIGINS}
        return origin in allowed

    # --- The session's transport ------------------------------------------------------------

    async def send_frame(self, frame: dict[str, Any]) -> None:
        if self.closed:
            return
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    async def close_socket(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        await self.close(code=code, reason=reason)

    # --- Client frames ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        session = self.session
        if session is None or self.closed:
            return
        try:
            frame = frames.parse(text_data, bytes_data)
            decision = await self.limits.check(frame.type, len(text_data or ""))
            if not decision.allowed:
                await self.send_frame(ratelimit.error_frame(decision))
                return
            await self._dispatch_frame(session, frame)
        except (MatchingUnavailable, redis.RedisError):
            await self._unavailable(session)
        except ServiceError as exc:
            # Every service refuses a bad request the same way; the socket answers and stays open.
            await self.send_frame(
                frames.error_frame(exc.code, exc.message, getattr(exc, "retry_after", None))
            )
        except Exception:
            log.exception("chat socket %s: frame failed", session.identity.id)
            await self.send_frame(frames.error_frame("internal", _("Something went wrong on our side.")))

    async def _unavailable(self, session: ChatSession) -> None:
        log.warning("chat socket %s: state store unavailable", session.identity.id, exc_info=True)
        await self.send_frame(
            frames.error_frame("unavailable", _("Matching is temporarily unavailable. Try again shortly."))
        )

    async def _dispatch_frame(self, session: ChatSession, frame: frames.Frame) -> None:
        f = frame.fields
        match frame.type:
            case "join":
                await session.join(frames.preferences(f, country=session.country))
            case "next":
                await session.next()
            case "leave":
                await session.leave()
            case "signal":
                await session.signal(f["data"])
            case "chat":
                await session.chat(f["text"])
            case "ping":
                await session.ping()
            case "like":
                await session.like()
            case "report":
                await session.report(f["reason"], f["note"], f["snapshot"])
            case "block":
                await session.block()
            case "friend":
                await session.friend()
            case "call":
                await session.call(f["username"])
            case "answer":
                await session.answer(f["call_id"], f["accept"])

    # --- Channel-layer messages (from other sockets and services) ---------------------------

    @_guarded
    async def _to_session(self, event: dict) -> None:
        await getattr(self.session, get_handler_name(event))(event)

    @_guarded
    async def partner_liked(self, event: dict) -> None:
        await self.send_frame({"type": "you_were_liked", "match_id": event["match_id"]})

    @_guarded
    async def relay_signal(self, event: dict) -> None:
        if self.session.in_match(event["match_id"]):
            await self.send_frame({"type": "signal", "data": event["data"]})

    @_guarded
    async def presence_online(self, event: dict) -> None:
        await self.send_frame({"type": "online", "count": int(event["count"])})
