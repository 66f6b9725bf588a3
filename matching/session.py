"""One chat socket's live state machine: idle, waiting, matched (and a call ringing beside them).

A :class:`ChatSession` owns what a socket is doing in the live loop: its join preferences, the
wait loop that re-runs the matcher at each widening boundary, the match it is in, and what to do
when a heartbeat finds something off. It talks to the world through two doors only: the
services (``matching.services``, which call the pool and the other apps) and a
:class:`Transport` (send a frame, close the socket, the channel layer). The consumer is that
transport; tests drive a session with a recording one, without a socket.

Language: the session words its texts (error messages) in the page's language, which the
consumer reads from the socket's cookie and ``Accept-Language`` (LocaleMiddleware never runs for
a socket). The consumer activates it around every frame and message it hands over; the tasks the
session runs by itself (the wait loop, heartbeat follow-ups) activate it themselves.

Concurrency: the consumer hands frames and channel-layer messages over one at a time, but the
wait loop and heartbeat follow-ups run beside them as tasks. Every state change happens under
``self._lock``, and a task is only cancelled by a holder of the lock, so it is never cancelled
in the middle of a pool call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from matching import actions, friends, heartbeats, ice, presence, services, shards
from matching.call_line import CallLine
from matching.models import EndReason
from matching.types import (
    STAGE_FRIEND,
    BanCheckNeeded,
    Banned,
    FrameError,
    JoinOutcome,
    Matched,
    MatchingUnavailable,
    Pairing,
    Preferences,
    Queued,
    Replaced,
)
from seendr import keys, pool_shards
from seendr.identity import Identity, user_identity_id
from seendr.translation import detection

log = logging.getLogger(__name__)

IDLE, WAITING, MATCHED = "idle", "waiting", "matched"

CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409


class Transport(Protocol):
    """What a session needs from its socket."""

    channel_name: str
    channel_layer: Any

    async def send_frame(self, frame: dict[str, Any]) -> None: ...

    async def close_socket(self, code: int, reason: str) -> None: ...


@dataclass
class LiveMatch:
    match_id: str
    partner_id: str
    partner_channel: str
    partner_name: str
    initiator: bool


class ChatSession:
    def __init__(
        self,
        *,
        identity: Identity,
        transport: Transport,
        card: dict[str, Any],
        network: str = "",
        language: str = settings.LANGUAGE_CODE,
    ) -> None:
        self.identity = identity
        self.language = language  # the interface language its texts are worded in
        self.network = network  # hash of the socket's network: network bans reach it
        self.transport = transport
        self.card = card
        self.card_json = services.card_json(card)
        self.country = str(card.get("country") or "")
        self.state = IDLE
        self.match: LiveMatch | None = None
        self.last_match: LiveMatch | None = None
        self.prefs: Preferences | None = None
        self.stage_sent: str | None = None
        self.shard: str | None = None  # the pool shard its ticket or match is in (matching.shards)
        self.closed = False
        self.replaced = False
        self._lock = asyncio.Lock()
        self._wait_task: asyncio.Task | None = None
        # Direct calls to and from friends ("ringing" is the line's state, beside the others).
        self.line = CallLine(
            identity=identity,
            channel_name=transport.channel_name,
            channel_layer=transport.channel_layer,
            send=self.send,
            lock=self._lock,
        )

    @property
    def channel_name(self) -> str:
        return self.transport.channel_name

    @property
    def channel_layer(self) -> Any:
        return self.transport.channel_layer

    async def send(self, frame: dict[str, Any]) -> None:
        if not self.closed:
            await self.transport.send_frame(frame)

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            await self.transport.close_socket(code, reason)

    # --- Lifecycle --------------------------------------------------------------------------

    async def start(self, *, now: float) -> None:
        """Take over the identity (the newest socket wins), clear what an older socket left in
        the pool, say hello, and join the process heartbeat."""
        ident = self.identity.id
        await services.claim_socket(identity_id=ident, channel_name=self.channel_name)
        await self.channel_layer.group_send(
            keys.identity_group(ident), {"type": "identity.replaced", "channel": self.channel_name}
        )
        await shards.clear(identity_id=ident, now=now, channel_layer=self.channel_layer)
        await presence.touch(identity_id=ident, now=now)
        await self.send(
            {
                "type": "hello",
                "you": self.identity.public(),
                "online": await presence.online_count(now=now),
                "ice_servers": ice.ice_servers(identity_id=ident, now=now),
            }
        )
        heartbeats.for_this_loop().add(self)

    async def stop(self) -> None:
        """The socket closed: end whatever this session holds (unless a newer socket took over)."""
        self.closed = True
        async with self._lock:
            self.cancel_tasks()
            if self.replaced:
                return
            try:
                await self._end_all(EndReason.DISCONNECT)
                if await services.release_socket(
                    identity_id=self.identity.id, channel_name=self.channel_name
                ):
                    await presence.remove(identity_id=self.identity.id)
            except Exception:
                log.exception("chat session %s: clean-up after disconnect failed", self.identity.id)

    def cancel_tasks(self) -> None:
        if self._wait_task is not None and self._wait_task is not asyncio.current_task():
            self._wait_task.cancel()
        self._wait_task = None
        self.line.stop()
        heartbeats.for_this_loop().discard(self)

    # --- Client frames ----------------------------------------------------------------------

    async def join(self, prefs: Preferences) -> None:
        async with self._lock:
            if self.state == MATCHED:
                raise FrameError("already_matched", _("You are in a match: send next or leave first."))
            self.prefs = prefs
            await self.line.cancel_outgoing()
            await self._join()

    async def next(self) -> None:
        async with self._lock:
            if self.prefs is None:
                raise FrameError("not_in_pool", _("Send join first."))
            if self.state == MATCHED:
                await self._finish(EndReason.NEXT)
            await self.line.cancel_outgoing()
            await self._join()

    async def leave(self) -> None:
        async with self._lock:
            await self._end_all(EndReason.LEAVE)
        await self.send({"type": "left"})

    async def ping(self) -> None:
        # Liveness is the process heartbeat's job; a ping costs no Redis call.
        await self.send({"type": "pong"})

    async def signal(self, data: dict) -> None:
        match = self._require_match()
        await services.relay_signal(
            channel_layer=self.channel_layer,
            match_id=match.match_id,
            partner_channel=match.partner_channel,
            data=data,
        )

    async def chat(self, text: str) -> None:
        match = self._require_match()
        await services.relay_chat(
            channel_layer=self.channel_layer,
            match_id=match.match_id,
            partner_channel=match.partner_channel,
            sender_id=self.identity.id,
            text=text,
            now=time.time(),
        )

    async def like(self) -> None:
        match = self._recent_match()
        created = await database_sync_to_async(actions.like_partner)(
            match_id=match.match_id, liker=self.identity, partner_id=match.partner_id
        )
        if created:
            await self.send({"type": "liked", "match_id": match.match_id})
            await services.notify_partner(
                channel_layer=self.channel_layer,
                partner_channel=match.partner_channel,
                message={"type": "partner.liked", "match_id": match.match_id},
            )
        else:
            await self.send({"type": "liked", "match_id": match.match_id, "already": True})

    async def report(self, reason: str, note: str, snapshot: bytes | None = None) -> None:
        """Report the current or recent partner (a nudity report may carry the reporter's still
        of the partner's video, ``snapshot``), then block them and end the match."""
        match = self._recent_match()
        await database_sync_to_async(actions.report_partner)(
            match_id=match.match_id,
            reporter=self.identity,
            partner_id=match.partner_id,
            reason=reason,
            note=note,
            snapshot=snapshot,
        )
        await self._block_and_end(match, EndReason.REPORT)
        await self.send({"type": "reported", "match_id": match.match_id})

    async def block(self) -> None:
        match = self._recent_match()
        await self._block_and_end(match, EndReason.BLOCK)
        await self.send({"type": "blocked", "match_id": match.match_id})

    async def friend(self) -> None:
        """Ask to befriend the current or last partner (``matching.friends``)."""
        match = self._recent_match()
        result = await friends.ask(
            identity=self.identity, match_id=match.match_id, partner_id=match.partner_id, now=time.time()
        )
        if self.identity.guest:
            minutes = int(friends.window_seconds() // 60)
            raise FrameError(
                "needs_account",
                _("Sign up to add friends. Your request is kept if you sign up within %(minutes)d minutes.")
                % {"minutes": minutes},
            )
        await self.send({"type": "friend_requested", "match_id": match.match_id})
        if result.friend_user_id is not None and result.status == friends.ALREADY:
            # Friends already: the partner hears nothing new; this side gets its confirmation.
            confirmation = await friends.confirmation(user_id=result.friend_user_id, now=time.time())
            if confirmation is not None:
                await self.send(confirmation)

    async def call(self, username: str) -> None:
        async with self._lock:
            if self.state == MATCHED:
                raise FrameError("already_matched", _("You are in a match: leave it before calling."))
            await self.line.place(username=username)
            if self.state == WAITING:
                await self._end_all(EndReason.LEAVE, keep_call=True)  # a caller does not wait

    async def answer(self, call_id: str, accept: bool) -> None:
        if self.identity.guest:
            raise FrameError("needs_account", _("Calls are for accounts."))
        async with self._lock:
            call = self.line.take(call_id)
            if not accept:
                await self.line.decline(call)
                return
            was_waiting = self.state == WAITING
            if was_waiting:
                await self._end_all(EndReason.LEAVE)
            pairing = await self.line.accept(call, my_card=self.card_json)
            if pairing is not None:
                await self._matched(pairing, call_id=call_id)
            elif was_waiting and self.prefs is not None:
                await self._join()  # too late: back to searching, as before the call

    async def _block_and_end(self, match: LiveMatch, reason: str) -> None:
        await database_sync_to_async(actions.block_partner)(
            blocker_id=self.identity.id, partner_id=match.partner_id
        )
        async with self._lock:
            if self.match is not None and self.match.match_id == match.match_id:
                await self._finish(reason)

    def _require_match(self) -> LiveMatch:
        if self.state != MATCHED or self.match is None:
            raise FrameError("not_matched", _("You are not in a match."))
        return self.match

    def _recent_match(self) -> LiveMatch:
        match = self.match or self.last_match
        if match is None:
            raise FrameError("not_matched", _("There is no current or recent partner."))
        return match

    # --- Joining, waiting, matching (all under the lock) ------------------------------------

    async def _join(self) -> None:
        assert self.prefs is not None
        self.stage_sent = None
        now = time.time()
        join = functools.partial(
            shards.join,
            identity_id=self.identity.id,
            prefs=self.prefs,
            channel_name=self.channel_name,
            card=self.card_json,
            now=now,
            channel_layer=self.channel_layer,
        )
        # A ban of this identity, or a network ban that began after the socket opened: the
        # matcher answers in the same call, and sends the cases it cannot decide to Postgres.
        try:
            outcome, self.shard = await join(network=self.network or "-")
        except BanCheckNeeded:
            until = await services.ban_until(
                identity_id=self.identity.id,
                now=now,
                network=self.network,
                shard=pool_shards.home(self.prefs.lang),
            )
            if until is not None:
                await self._banned(until, "banned")
                return
            outcome, self.shard = await join(network="")
        if isinstance(outcome, Banned):
            await self._banned(outcome.until, "banned")
            return
        await self._apply(outcome)

    async def _apply(self, outcome: JoinOutcome) -> bool:
        """Act on a matcher outcome. True when waiting is over."""
        if isinstance(outcome, Matched):
            await self._matched(outcome.pairing)
        elif isinstance(outcome, Banned):
            await self._banned(outcome.until, "")  # the matcher knows the expiry, not the reason
        elif isinstance(outcome, Replaced):
            await self._replaced()
        else:
            first = self.state != WAITING
            self.state = WAITING
            await self._queued(outcome)
            if first:
                self._start_wait(time.time() - outcome.waited_seconds)
            return False
        return True

    async def _queued(self, queued: Queued) -> None:
        """Tell the client its widening stage: at join, and whenever it widens."""
        if queued.stage != self.stage_sent:
            self.stage_sent = queued.stage
            await self.send({"type": "queued", "stage": queued.stage, "waiting": queued.waiting})

    def _start_wait(self, joined_at: float) -> None:
        if self._wait_task is not None:
            self._wait_task.cancel()
        self._wait_task = asyncio.create_task(self._wait_loop(joined_at))

    @staticmethod
    def retry_times(joined_at: float) -> Iterator[float]:
        """Wall-clock times to re-run the matcher: each widening boundary, then every few seconds."""
        # A hair past each boundary, so the pool's own clock agrees the stage has changed.
        boundaries = sorted({settings.MATCH_INTEREST_SECONDS, settings.MATCH_ANYONE_SECONDS})
        for boundary in boundaries:
            yield joined_at + boundary + 0.05
        t = joined_at + boundaries[-1] + 0.05
        while True:
            t += settings.CHAT_RETRY_SECONDS
            yield t

    async def _wait_loop(self, joined_at: float) -> None:
        with translation.override(self.language):  # a ban found here is worded for this page
            await self._wait(joined_at)

    async def _wait(self, joined_at: float) -> None:
        me = asyncio.current_task()
        for at in self.retry_times(joined_at):
            await asyncio.sleep(max(0.0, at - time.time()))
            async with self._lock:
                if self.state != WAITING or self._wait_task is not me:
                    return
                try:
                    if await self._retry():
                        return
                except MatchingUnavailable:
                    log.warning("chat session %s: retry failed, will try again", self.identity.id)
                except Exception:
                    log.exception("chat session %s: retry failed", self.identity.id)

    async def _retry(self) -> bool:
        assert self.prefs is not None
        outcome, self.shard = await shards.retry(
            shard=self.shard or pool_shards.default(),
            identity_id=self.identity.id,
            prefs=self.prefs,
            channel_name=self.channel_name,
            card=self.card_json,
            now=time.time(),
            channel_layer=self.channel_layer,
        )
        return await self._apply(outcome)

    async def _matched(self, pairing: Pairing, *, call_id: str | None = None) -> None:
        """Enter a match (either side; ``call_id`` when it is an answered friend call)."""
        if self._wait_task is not None and self._wait_task is not asyncio.current_task():
            self._wait_task.cancel()
        self._wait_task = None
        await self.line.entering_match(call_id=call_id)
        card = pairing.partner_card
        if not card.get("name"):
            card = await services.card_for_id(pairing.partner_id)
        public = services.public_card(card)
        self.state = MATCHED
        self.shard = pool_shards.of_match(pairing.match_id)
        self.match = LiveMatch(
            match_id=pairing.match_id,
            partner_id=pairing.partner_id,
            partner_channel=pairing.partner_channel,
            partner_name=str(public["name"] or ""),
            initiator=pairing.initiator,
        )
        await self.send(
            {
                "type": "matched",
                "match_id": pairing.match_id,
                "initiator": pairing.initiator,
                "partner": public,
                "common_interests": list(pairing.common_interests),
                "ice_servers": ice.ice_servers(identity_id=self.identity.id),
                "friend": pairing.stage == STAGE_FRIEND,
            }
        )

    # --- Ending (all under the lock) --------------------------------------------------------

    async def _finish(self, reason: str, *, ended_by: str | None = None) -> None:
        """End this session's match (the partner is told)."""
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
            shard=self.shard,
        )
        self._forget_match()

    def _forget_match(self) -> None:
        if self.match is not None:
            self.last_match = self.match
        self.match = None
        self.state = IDLE

    async def _end_all(self, reason: str, *, keep_call: bool = False) -> None:
        """Leave the pool, end any match, and (unless ``keep_call``) drop a ringing call."""
        if not keep_call:
            await self.line.drop()
        if self._wait_task is not None and self._wait_task is not asyncio.current_task():
            self._wait_task.cancel()
        self._wait_task = None
        was_waiting = self.state == WAITING
        if was_waiting:
            await services.leave(identity_id=self.identity.id, shard=self.shard)
        if self.state == MATCHED or was_waiting:
            # Waiting: a joiner may have paired us a moment before we left; end that too.
            await self._finish(reason)
        self.state = IDLE

    async def _banned(self, until: float | None, reason: str) -> None:
        """Refuse a banned identity: tell it, end everything, close 4403."""
        await self.send(banned_frame(until, reason))
        await self._end_all(EndReason.BANNED)
        await self.close(CLOSE_FORBIDDEN, "banned")

    async def _replaced(self) -> None:
        """A newer socket of this identity took over: it already cleaned up the pool."""
        self.replaced = True
        self.cancel_tasks()
        self.state = IDLE
        await self.close(CLOSE_REPLACED, "replaced by a newer socket")

    # --- Heartbeat (see matching.heartbeats) ------------------------------------------------

    def beat_entry(self) -> services.SocketBeat | None:
        """This socket's part of the process heartbeat."""
        if self.closed:
            return None
        match = self.match if self.state == MATCHED else None
        return services.SocketBeat(
            identity_id=self.identity.id,
            channel_name=self.channel_name,
            in_pool=self.state in (WAITING, MATCHED),
            partner_id=match.partner_id if match is not None else None,
            partner_channel=match.partner_channel if match is not None else None,
            match_id=match.match_id if match is not None else None,
            shard=self.shard,
        )

    async def after_beat(self, entry: services.SocketBeat, result: services.BeatResult) -> None:
        """Act on what the process heartbeat found for this socket (only when something is off)."""
        with translation.override(self.language):
            await self._after_beat(entry, result)

    async def _after_beat(self, entry: services.SocketBeat, result: services.BeatResult) -> None:
        async with self._lock:
            if self.closed:
                return
            if not result.owned:
                await self._replaced()
                return
            match = self.match
            if (
                result.partner_suspect
                and self.state == MATCHED
                and match
                and match.match_id == entry.match_id
            ):
                await self._check_partner(match)

    async def _check_partner(self, match: LiveMatch) -> None:
        """End a match whose partner vanished without a word (its server died)."""
        current = await services.current_match(identity_id=self.identity.id, shard=self.shard)
        if current is None or current[0] != match.match_id:
            self._forget_match()
            await self.send({"type": "partner_left", "reason": "disconnect"})
            return
        if not await services.partner_alive(
            partner_id=match.partner_id, partner_channel=match.partner_channel
        ):
            await self._finish(EndReason.DISCONNECT, ended_by=match.partner_id)
            await self.send({"type": "partner_left", "reason": "disconnect"})

    # --- Messages from other sockets and services ------------------------------------------

    async def match_found(self, event: dict[str, Any]) -> None:
        """The initiator paired us and sent the details: announce the match."""
        async with self._lock:
            if self.closed or (self.match is not None and self.match.match_id == event["match_id"]):
                return
            if self.line.expects(event.get("call_id")):
                await self._matched(services.passive_pairing(event=event), call_id=event["call_id"])
                return  # our friend answered
            if self.state != WAITING:
                # We left (or disconnected) just as the match formed: end it so the partner knows.
                await services.finish_match(
                    identity_id=self.identity.id,
                    reason=EndReason.LEAVE,
                    now=time.time(),
                    channel_layer=self.channel_layer,
                    shard=pool_shards.of_match(str(event["match_id"])),
                )
                return
            await self._matched(services.passive_pairing(event=event))

    async def partner_left(self, event: dict[str, Any]) -> None:
        async with self._lock:
            if self.match is None or self.match.match_id != event["match_id"]:
                return
            self._forget_match()
            await self.send({"type": "partner_left", "reason": event["reason"]})

    async def call_incoming(self, event: dict[str, Any]) -> None:
        async with self._lock:
            if not self.closed:
                await self.line.ring_in(event, busy=self.state == MATCHED)

    async def call_ended(self, event: dict[str, Any]) -> None:
        async with self._lock:
            await self.line.ended(event)

    async def friends_added(self, event: dict[str, Any]) -> None:
        friend = event["friend"]
        friend_id = user_identity_id(int(friend["user_id"]))
        online = await friends.is_online(identity_id=friend_id, now=time.time())
        await self.send(friends.added_frame(friend=friend, online=online))

    async def friends_asked(self, event: dict[str, Any]) -> None:
        await self.send(friends.request_frame(event=event))

    async def friends_removed(self, event: dict[str, Any]) -> None:
        await self.send({"type": "friend_removed", "username": event["username"]})

    async def relay_chat(self, event: dict[str, Any]) -> None:
        """A line from the partner, with the language it is written in when that is clear (so the
        page can say "written in Spanish" and offer a translation)."""
        if not self.in_match(event["match_id"]):
            return
        frame = {"type": "chat", "text": event["text"]}
        lang = detection.language_of_if_ready(event["text"])
        if lang:
            frame["lang"] = lang
        await self.send(frame)

    def in_match(self, match_id: str) -> bool:
        return self.match is not None and self.match.match_id == match_id

    async def identity_replaced(self, event: dict[str, Any]) -> None:
        if event.get("channel") == self.channel_name:
            return
        owner = await services.socket_owner(identity_id=self.identity.id)
        if owner == self.channel_name:
            return  # two sockets raced; the record says this one is newest
        async with self._lock:
            await self._replaced()

    async def identity_banned(self, event: dict[str, Any]) -> None:
        async with self._lock:
            await self._banned(parse_until(event.get("until")), str(event.get("reason") or ""))

    async def identity_kick(self, event: dict[str, Any]) -> None:
        async with self._lock:
            await self._end_all(EndReason.DISCONNECT)
            await self.close(CLOSE_FORBIDDEN, "kicked")


def banned_frame(until: float | None, reason: str) -> dict[str, Any]:
    return {
        "type": "error",
        "code": "banned",
        "message": _("This account is banned.")
        if not reason
        else _("Banned: %(reason)s") % {"reason": reason},
        "until": services.until_iso(until),
        "reason": reason,
    }


def parse_until(value: Any) -> float | None:
    """A ban expiry from a moderation message: ISO 8601, unix seconds, or null (permanent)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return None if math.isinf(value) else float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None
