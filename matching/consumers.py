"""The chat WebSocket ``/ws/chat/`` (docs/protocol.md): validate, call a service, reply.

One consumer per socket. Its state is small: who it is, its last join preferences, and whether
it is idle, waiting in the pool, or in a match (with the partner's recorded channel). The pool
(``matching.pool``) is the truth; this state only routes frames.

Concurrency: Channels dispatches client frames and channel-layer messages one at a time, but the
wait loop and the heartbeat run beside them as tasks. Every state change happens under
``self._lock``, and a task is only cancelled by a holder of the lock, so it is never cancelled
in the middle of a pool call.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from matching import actions, frames, heartbeats, ice, pool, presence, services, socket_caps
from matching.frames import FrameError, error_frame
from matching.models import EndReason
from seendr import keys, networks, ratelimit
from seendr.errors import ServiceError
from seendr.identity import Identity

log = logging.getLogger(__name__)

CLOSE_NO_SESSION = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_TOO_MANY = 4429  # too many sockets from one network, or opened too often by one identity
CLOSE_UNAVAILABLE = 1011  # the standard "server error" code: the client may retry later

IDLE, WAITING, MATCHED = "idle", "waiting", "matched"

# Scopes of settings.RATE_LIMITS applied per identity to client frames: every type has one
# (a new type without its own falls under ws_other, never under none).
FRAME_LIMITS = {
    "join": "ws_join",
    "next": "ws_join",
    "leave": "ws_leave",
    "chat": "ws_chat",
    "signal": "ws_signal",
    "ping": "ws_ping",
    "like": "like",
    "report": "report",
    "block": "ws_block",
}
OTHER_FRAMES_LIMIT = "ws_other"


@dataclass
class LiveMatch:
    match_id: str
    partner_id: str
    partner_channel: str
    partner_name: str
    initiator: bool


def _guarded(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A channel-layer handler must never kill the socket: log and carry on."""

    @functools.wraps(handler)
    async def wrapper(self: ChatConsumer, event: dict) -> None:
        try:
            await handler(self, event)
        except Exception:
            log.exception("chat socket %s: %s failed", self.channel_name, event.get("type"))

    return wrapper


class ChatConsumer(AsyncWebsocketConsumer):
    identity: Identity | None = None

    # --- Lifecycle --------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Killed without a disconnect (server shutdown, application timeout): stop our tasks.
            if hasattr(self, "_lock"):
                self._cancel_tasks()
                self._release_slot()

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch without its per-message ``aclose_old_connections()``.

        That call is a ``sync_to_async`` hop through the one thread-sensitive executor for every
        frame and every channel-layer message (each ``online`` push to every socket, each relay),
        which is most of what an idle socket costs and what queues identity and card look-ups
        behind it under churn. This consumer never touches the ORM on the event loop: every
        database access goes through ``database_sync_to_async``, which closes stale connections
        in its own thread, before and after.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.identity = None
        self.state = IDLE
        self.match: LiveMatch | None = None
        self.last_match: LiveMatch | None = None
        self.prefs: pool.Preferences | None = None
        self.country = ""
        self.network = ""
        self._holds_slot = False
        self.closed = False
        self.replaced = False
        self._lock = asyncio.Lock()
        self._wait_task: asyncio.Task | None = None

        # Accept first: a refusal before accept reaches the browser as 1006, never as our code.
        await self.accept()
        try:
            await self._open()
        except Exception:
            # Postgres or Redis away at connect: a clean 1011 lets the client retry later.
            log.exception("chat socket: connect failed")
            await self._close(CLOSE_UNAVAILABLE, "temporarily unavailable")

    async def _open(self) -> None:
        if not self._origin_allowed():
            await self._close(CLOSE_FORBIDDEN, "forbidden origin")
            return
        client_ip = networks.scope_client_ip(self.scope)
        self.network = networks.hash_ip(client_ip) if client_ip else ""
        if not socket_caps.admit(self.network):
            await self.send_error("too_many_sockets", "Too many open chat sockets from your network.")
            await self._close(CLOSE_TOO_MANY, "too many sockets from this network")
            return
        self._holds_slot = True
        identity = await services.identity_from_scope(self.scope)
        if identity is None:
            await self._close(CLOSE_NO_SESSION, "no user or guest session")
            return
        opened = await ratelimit.acheck(scope="ws_connect", subject=identity.id)
        if not opened.allowed:
            await self.send_frame(ratelimit.error_frame(opened))
            await self._close(CLOSE_TOO_MANY, "socket opened too often")
            return
        now = time.time()
        until = await services.ban_until(identity_id=identity.id, now=now, network=self.network)
        if until is not None:
            await self._send_banned(until, "banned")
            await self._close(CLOSE_FORBIDDEN, "banned")
            return
        self.identity = identity
        if self.network:
            # A ban of this identity then reaches the network it uses (moderation reads it).
            await networks.arecord(identity_id=identity.id, ip_hash=self.network)

        await self.channel_layer.group_add(keys.identity_group(identity.id), self.channel_name)
        await services.claim_socket(identity_id=identity.id, channel_name=self.channel_name)
        await self.channel_layer.group_send(
            keys.identity_group(identity.id), {"type": "identity.replaced", "channel": self.channel_name}
        )
        # Whatever an older socket of this identity left in the pool (a match, a ticket) ends now.
        await services.finish_match(
            identity_id=identity.id, reason=EndReason.DISCONNECT, now=now, channel_layer=self.channel_layer
        )
        await pool.leave_pool(identity_id=identity.id)

        my_card = await services.card_for(identity)
        self.country = str(my_card.get("country") or "")
        await presence.touch(identity_id=identity.id, now=now)
        await self.channel_layer.group_add(keys.presence_group(), self.channel_name)
        await self.send_frame(
            {
                "type": "hello",
                "you": identity.public(),
                "online": await presence.online_count(now=now),
                "ice_servers": ice.ice_servers(identity_id=identity.id, now=now),
            }
        )
        await presence.request_broadcast(channel_layer=self.channel_layer)
        heartbeats.for_this_loop().add(self)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        self._release_slot()
        identity = self.identity
        if identity is None:
            return
        async with self._lock:
            self._cancel_tasks()
            try:
                if not self.replaced:
                    await self._end_all(EndReason.DISCONNECT)
                    if await services.release_socket(identity_id=identity.id, channel_name=self.channel_name):
                        await presence.remove(identity_id=identity.id)
            except Exception:
                log.exception("chat socket %s: clean-up after disconnect failed", identity.id)
        try:
            await self.channel_layer.group_discard(keys.identity_group(identity.id), self.channel_name)
            await self.channel_layer.group_discard(keys.presence_group(), self.channel_name)
        except Exception:
            log.warning("chat socket %s: group clean-up failed", identity.id, exc_info=True)
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

    # --- Sending ----------------------------------------------------------------------------

    async def send_frame(self, frame: dict[str, Any]) -> None:
        if self.closed:
            return
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    async def send_error(self, code: str, message: str, retry_after: int | None = None) -> None:
        await self.send_frame(error_frame(code, message, retry_after))

    async def _close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        await self.close(code=code, reason=reason)

    async def _send_banned(self, until: float | None, reason: str) -> None:
        await self.send_frame(
            {
                "type": "error",
                "code": "banned",
                "message": "This account is banned." if not reason else f"Banned: {reason}",
                "until": services.until_iso(until),
                "reason": reason,
            }
        )

    # --- Client frames ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.identity is None or self.closed:
            return
        try:
            frame = frames.parse(text_data, bytes_data)
            scope = FRAME_LIMITS.get(frame.type, OTHER_FRAMES_LIMIT)
            decision = await ratelimit.acheck(scope=scope, subject=self.identity.id)
            if decision.allowed and frame.type == "signal":
                # Signals are relayed whole: their bytes count as well as their number.
                decision = await ratelimit.acheck(
                    scope="ws_signal_bytes", subject=self.identity.id, cost=len(text_data or "")
                )
            if not decision.allowed:
                await self.send_frame(ratelimit.error_frame(decision))
                return
            await getattr(self, f"on_{frame.type}")(frame.fields)
        except FrameError as exc:
            await self.send_frame(exc.frame())
        except (pool.MatchingUnavailable, redis.RedisError):
            log.warning("chat socket %s: state store unavailable", self.identity.id, exc_info=True)
            await self.send_error("unavailable", "Matching is temporarily unavailable. Try again shortly.")
        except ServiceError as exc:
            # Every service refuses a bad request the same way; the socket answers and stays open.
            await self.send_error(exc.code, exc.message)
        except Exception:
            log.exception("chat socket %s: frame failed", self.identity.id)
            await self.send_error("internal", "Something went wrong on our side.")

    async def on_ping(self, fields: dict) -> None:
        await self.send_frame({"type": "pong"})
        await self._touch(time.time())

    async def on_join(self, fields: dict) -> None:
        prefs = frames.preferences(fields, country=self.country)
        async with self._lock:
            if self.state == MATCHED:
                raise FrameError("already_matched", "You are in a match: send next or leave first.")
            self.prefs = prefs
            await self._join()

    async def on_next(self, fields: dict) -> None:
        async with self._lock:
            if self.prefs is None:
                raise FrameError("not_in_pool", "Send join first.")
            if self.state == MATCHED:
                await self._finish(EndReason.NEXT)
            await self._join()

    async def on_leave(self, fields: dict) -> None:
        async with self._lock:
            await self._end_all(EndReason.LEAVE)
        await self.send_frame({"type": "left"})

    async def on_signal(self, fields: dict) -> None:
        match = self._require_match()
        await services.relay_signal(
            channel_layer=self.channel_layer,
            match_id=match.match_id,
            partner_channel=match.partner_channel,
            data=fields["data"],
        )

    async def on_chat(self, fields: dict) -> None:
        match = self._require_match()
        await services.relay_chat(
            channel_layer=self.channel_layer,
            match_id=match.match_id,
            partner_channel=match.partner_channel,
            sender_id=self.identity.id,
            text=fields["text"],
            now=time.time(),
        )

    async def on_like(self, fields: dict) -> None:
        match = self._recent_match()
        created = await database_sync_to_async(actions.like_partner)(
            match_id=match.match_id, liker=self.identity, partner_id=match.partner_id
        )
        if created:
            await self.send_frame({"type": "liked", "match_id": match.match_id})
            await services.notify_partner(
                channel_layer=self.channel_layer,
                partner_channel=match.partner_channel,
                message={"type": "partner.liked", "match_id": match.match_id},
            )
        else:
            await self.send_frame({"type": "liked", "match_id": match.match_id, "already": True})

    async def on_report(self, fields: dict) -> None:
        match = self._recent_match()
        await database_sync_to_async(actions.report_partner)(
            match_id=match.match_id,
            reporter=self.identity,
            partner_id=match.partner_id,
            reason=fields["reason"],
            note=fields["note"],
        )
        await self._block_and_end(match, EndReason.REPORT)
        await self.send_frame({"type": "reported", "match_id": match.match_id})

    async def on_block(self, fields: dict) -> None:
        match = self._recent_match()
        await self._block_and_end(match, EndReason.BLOCK)
        await self.send_frame({"type": "blocked", "match_id": match.match_id})

    async def _block_and_end(self, match: LiveMatch, reason: str) -> None:
        await database_sync_to_async(actions.block_partner)(
            blocker_id=self.identity.id, partner_id=match.partner_id
        )
        async with self._lock:
            if self.match is not None and self.match.match_id == match.match_id:
                await self._finish(reason)

    def _require_match(self) -> LiveMatch:
        if self.state != MATCHED or self.match is None:
            raise FrameError("not_matched", "You are not in a match.")
        return self.match

    def _recent_match(self) -> LiveMatch:
        match = self.match or self.last_match
        if match is None:
            raise FrameError("not_matched", "There is no current or recent partner.")
        return match

    # --- Joining, waiting, matching ---------------------------------------------------------

    async def _join(self) -> None:
        """Join (or re-join) the pool with ``self.prefs``. Holds the lock."""
        assert self.identity is not None and self.prefs is not None
        now = time.time()
        # A ban of this identity, or a network ban that began after the socket opened.
        until = await services.ban_until(identity_id=self.identity.id, now=now, network=self.network)
        if until is not None:
            await self._banned(until, "banned")
            return
        try:
            pairing = await pool.join(
                identity_id=self.identity.id, prefs=self.prefs, channel_name=self.channel_name, now=now
            )
        except pool.AlreadyMatched:
            pairing = await pool.get_pairing(identity_id=self.identity.id)
            if pairing is not None and self.state == WAITING:
                await self._matched(pairing)  # paired by someone else a moment ago
                return
            # A match this socket does not know (an older socket's): end it, then join.
            await services.finish_match(
                identity_id=self.identity.id,
                reason=EndReason.DISCONNECT,
                now=now,
                channel_layer=self.channel_layer,
            )
            pairing = await pool.join(
                identity_id=self.identity.id, prefs=self.prefs, channel_name=self.channel_name, now=now
            )
        except pool.Banned as exc:
            await self._banned(exc.until, "banned")
            return
        if pairing is not None:
            await self._matched(pairing)
            return
        self.state = WAITING
        await self.send_frame({"type": "queued"})
        self._restart_wait(now)

    def _restart_wait(self, joined_at: float) -> None:
        if self._wait_task is not None:
            self._wait_task.cancel()
        self._wait_task = asyncio.create_task(self._wait_loop(joined_at))

    def _retry_times(self, joined_at: float):
        """Wall-clock times to re-run the matcher: each widening boundary, then every few seconds."""
        # A hair past each boundary, so the pool's own clock agrees the stage has changed.
        for boundary in sorted({settings.MATCH_INTEREST_SECONDS, settings.MATCH_ANYONE_SECONDS}):
            yield joined_at + boundary + 0.05
        t = joined_at + max(settings.MATCH_INTEREST_SECONDS, settings.MATCH_ANYONE_SECONDS) + 0.05
        while True:
            t += settings.CHAT_RETRY_SECONDS
            yield t

    async def _wait_loop(self, joined_at: float) -> None:
        me = asyncio.current_task()
        for at in self._retry_times(joined_at):
            await asyncio.sleep(max(0.0, at - time.time()))
            async with self._lock:
                if self.state != WAITING or self._wait_task is not me:
                    return
                try:
                    if await self._retry():
                        return
                except (pool.MatchingUnavailable, redis.RedisError):
                    log.warning("chat socket %s: retry failed, will try again", self.identity.id)
                except Exception:
                    log.exception("chat socket %s: retry failed", self.identity.id)

    async def _retry(self) -> bool:
        """One matcher run for a waiting socket. Holds the lock. True when waiting is over."""
        assert self.identity is not None and self.prefs is not None
        now = time.time()
        try:
            pairing = await pool.retry(identity_id=self.identity.id, now=now)
        except pool.AlreadyMatched:
            pairing = await pool.get_pairing(identity_id=self.identity.id)
        except pool.NotQueued:
            # The ticket lapsed (a stall longer than its TTL). Re-join unless a newer socket
            # of this identity has taken over.
            if not await services.refresh_socket(
                identity_id=self.identity.id, channel_name=self.channel_name
            ):
                await self._replaced()
                return True
            try:
                pairing = await pool.join(
                    identity_id=self.identity.id, prefs=self.prefs, channel_name=self.channel_name, now=now
                )
            except pool.AlreadyMatched:
                pairing = await pool.get_pairing(identity_id=self.identity.id)
        except pool.Banned as exc:
            await self._banned(exc.until, "banned")
            return True
        if pairing is None:
            return False
        await self._matched(pairing)
        return True

    async def _matched(self, pairing: pool.Pairing) -> None:
        """Enter a match (either side). Holds the lock."""
        assert self.identity is not None
        if self._wait_task is not None and self._wait_task is not asyncio.current_task():
            self._wait_task.cancel()
        self._wait_task = None
        if pairing.initiator:
            # The partner's socket sends its own `matched` when told (it may be on another server).
            await services.notify_partner(
                channel_layer=self.channel_layer,
                partner_channel=pairing.partner_channel,
                message={"type": "match.found", "match_id": pairing.match_id},
            )
        card = await services.card_for_id(pairing.partner_id)
        self.state = MATCHED
        self.match = LiveMatch(
            match_id=pairing.match_id,
            partner_id=pairing.partner_id,
            partner_channel=pairing.partner_channel,
            partner_name=str(card.get("name") or ""),
            initiator=pairing.initiator,
        )
        await self.send_frame(
            {
                "type": "matched",
                "match_id": pairing.match_id,
                "initiator": pairing.initiator,
                "partner": {k: card[k] for k in ("name", "guest", "country", "interests", "likes")},
                "common_interests": list(pairing.common_interests),
                "ice_servers": ice.ice_servers(identity_id=self.identity.id),
            }
        )

    # --- Ending -----------------------------------------------------------------------------

    async def _finish(self, reason: str, *, ended_by: str | None = None) -> None:
        """End this socket's match (the partner is told). Holds the lock."""
        assert self.identity is not None
        names = {self.identity.id: self.identity.name}
        if self.match is not None:
            names[self.match.partner_id] = self.match.partner_name
        await services.finish_match(
            identity_id=self.identity.id,
            reason=reason,
            now=time.time(),
            channel_layer=self.channel_layer,
            ended_by=ended_by,
            names=names,
        )
        self._forget_match()

    def _forget_match(self) -> None:
        if self.match is not None:
            self.last_match = self.match
        self.match = None
        self.state = IDLE

    async def _end_all(self, reason: str) -> None:
        """Leave the pool and end any match. Holds the lock."""
        assert self.identity is not None
        if self._wait_task is not None:
            self._wait_task.cancel()
            self._wait_task = None
        was_waiting = self.state == WAITING
        if was_waiting:
            await pool.leave_pool(identity_id=self.identity.id)
        if self.state == MATCHED or was_waiting:
            # Waiting: a joiner may have paired us a moment before we left; end that too.
            await self._finish(reason)
        self.state = IDLE

    def _cancel_tasks(self) -> None:
        if self._wait_task is not None and self._wait_task is not asyncio.current_task():
            self._wait_task.cancel()
        self._wait_task = None
        heartbeats.for_this_loop().discard(self)

    async def _banned(self, until: float | None, reason: str) -> None:
        """Refuse a banned identity: tell it, end everything, close 4403. Holds the lock."""
        await self._send_banned(until, reason)
        await self._end_all(EndReason.BANNED)
        await self._close(CLOSE_FORBIDDEN, "banned")

    async def _replaced(self) -> None:
        """A newer socket of this identity took over: it already cleaned up the pool."""
        self.replaced = True
        self._cancel_tasks()
        self.state = IDLE
        await self._close(CLOSE_REPLACED, "replaced by a newer socket")

    # --- Heartbeat --------------------------------------------------------------------------

    async def _touch(self, now: float) -> None:
        assert self.identity is not None
        if self.state in (WAITING, MATCHED):
            await pool.heartbeat(identity_id=self.identity.id, now=now)
        await presence.touch(identity_id=self.identity.id, now=now)

    def beat_entry(self) -> services.SocketBeat | None:
        """This socket's part of the process heartbeat (see :class:`_Heartbeats`)."""
        if self.closed or self.identity is None:
            return None
        match = self.match if self.state == MATCHED else None
        return services.SocketBeat(
            identity_id=self.identity.id,
            channel_name=self.channel_name,
            in_pool=self.state in (WAITING, MATCHED),
            partner_id=match.partner_id if match is not None else None,
            partner_channel=match.partner_channel if match is not None else None,
            match_id=match.match_id if match is not None else None,
        )

    async def after_beat(self, entry: services.SocketBeat, result: services.BeatResult) -> None:
        """Act on what the process heartbeat found for this socket (only when something is off)."""
        async with self._lock:
            if self.closed:
                return
            if not result.owned:
                await self._replaced()
                return
            if (
                result.partner_suspect
                and self.state == MATCHED
                and self.match is not None
                and self.match.match_id == entry.match_id
            ):
                await self._check_partner(self.match)

    async def _check_partner(self, match: LiveMatch) -> None:
        """End a match whose partner vanished without a word (its server died). Holds the lock."""
        assert self.identity is not None
        current = await pool.current_match(identity_id=self.identity.id)
        if current is None or current[0] != match.match_id:
            self._forget_match()
            await self.send_frame({"type": "partner_left", "reason": "disconnect"})
            return
        if not await services.partner_alive(
            partner_id=match.partner_id, partner_channel=match.partner_channel
        ):
            await self._finish(EndReason.DISCONNECT, ended_by=match.partner_id)
            await self.send_frame({"type": "partner_left", "reason": "disconnect"})

    # --- Channel-layer messages (from other sockets and services) ---------------------------

    @_guarded
    async def match_found(self, event: dict) -> None:
        """The initiator paired us: find the match in the pool and announce it."""
        async with self._lock:
            if self.closed or (self.match is not None and self.match.match_id == event["match_id"]):
                return
            pairing = await pool.get_pairing(identity_id=self.identity.id)
            if pairing is None or pairing.match_id != event["match_id"]:
                return  # already over; the wait loop re-joins if the ticket is gone
            if self.state != WAITING:
                # We left (or disconnected) just as the match formed: end it so the partner knows.
                await services.finish_match(
                    identity_id=self.identity.id,
                    reason=EndReason.LEAVE,
                    now=time.time(),
                    channel_layer=self.channel_layer,
                )
                return
            await self._matched(pairing)

    @_guarded
    async def partner_left(self, event: dict) -> None:
        async with self._lock:
            if self.match is None or self.match.match_id != event["match_id"]:
                return
            self._forget_match()
            await self.send_frame({"type": "partner_left", "reason": event["reason"]})

    @_guarded
    async def partner_liked(self, event: dict) -> None:
        await self.send_frame({"type": "you_were_liked", "match_id": event["match_id"]})

    @_guarded
    async def relay_signal(self, event: dict) -> None:
        if self.match is not None and self.match.match_id == event["match_id"]:
            await self.send_frame({"type": "signal", "data": event["data"]})

    @_guarded
    async def relay_chat(self, event: dict) -> None:
        if self.match is not None and self.match.match_id == event["match_id"]:
            await self.send_frame({"type": "chat", "text": event["text"]})

    @_guarded
    async def presence_online(self, event: dict) -> None:
        await self.send_frame({"type": "online", "count": int(event["count"])})

    @_guarded
    async def identity_replaced(self, event: dict) -> None:
        if event.get("channel") == self.channel_name or self.identity is None:
            return
        owner = await services.socket_owner(identity_id=self.identity.id)
        if owner == self.channel_name:
            return  # two sockets raced; the record says this one is newest
        async with self._lock:
            await self._replaced()

    @_guarded
    async def identity_banned(self, event: dict) -> None:
        until = _parse_until(event.get("until"))
        async with self._lock:
            await self._banned(until, str(event.get("reason") or ""))

    @_guarded
    async def identity_kick(self, event: dict) -> None:
        async with self._lock:
            await self._end_all(EndReason.DISCONNECT)
            await self._close(CLOSE_FORBIDDEN, "kicked")


def _parse_until(value: Any) -> float | None:
    """A ban expiry from a moderation message: ISO 8601, unix seconds, or null (permanent)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None
