"""Shared set-up for moderation tests: real users, real guests, real live matches in Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import guests
from matching.types import Preferences
from seendr.identity import Identity, for_user
from seendr.testing import poolsync


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password="pw-123456!x", **extra
    )


def user_identity(username: str) -> Identity:
    return for_user(make_user(username))


def established_identity(username: str) -> Identity:
    """An account a year old: its report weighs fully towards an automatic suspension."""
    user = make_user(username)
    joined = timezone.now() - dt.timedelta(days=365)
    get_user_model().objects.filter(pk=user.pk).update(date_joined=joined)
    return for_user(user)


def guest_identity(ip: str = "203.0.113.7") -> Identity:
    return guests.create_guest(ip=ip)


def live_match(a: Identity, b: Identity, *, interest: str = "chess") -> str:
    """Pair two identities through the real matcher; returns the match id."""
    now = time.time()
    prefs = Preferences.from_client(interests=[interest])
    first = poolsync.join(identity_id=a.id, prefs=prefs, channel_name=f"test.chan.{a.id}", now=now)
    assert first is None, "the pool should have been empty"
    pairing = poolsync.join(identity_id=b.id, prefs=prefs, channel_name=f"test.chan.{b.id}", now=now)
    assert pairing is not None and pairing.partner_id == a.id
    return pairing.match_id


def say(match_id: str, who: Identity, text: str) -> None:
    """Keep a chat line as evidence exactly as the consumer does when it relays one."""
    from matching.services import record_chat_line

    async_to_sync(record_chat_line)(match_id=match_id, sender_id=who.id, text=text, now=time.time())


class GroupListener:
    """A channel in a Channels group, read on its own thread and event loop (the Redis pub/sub
    layer is bound to the loop that created the channel)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.messages: queue.Queue = queue.Queue()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        assert self._ready.wait(5), "listener did not subscribe"

    async def _run(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self._ready.set()
        try:
            message = await asyncio.wait_for(layer.receive(channel), 10)
            self.messages.put(message)
        except TimeoutError:
            self.messages.put(None)
        finally:
            await layer.group_discard(self.group, channel)

    def get(self, timeout: float = 10) -> dict | None:
        return self.messages.get(timeout=timeout)
