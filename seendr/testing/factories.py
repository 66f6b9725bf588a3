"""Real users, guests and matches for tests: written through the same code the site uses."""

from __future__ import annotations

import itertools
import uuid

from django.contrib.auth import get_user_model

# Test support builds what the tests need from the floors above; the contract lists this module.
from accounts import guests
from matching.types import Pairing, Preferences
from seendr.identity import Identity
from seendr.testing import poolsync

PASSWORD = "pw-123456!x"
_numbers = itertools.count(1)


def make_user(username: str | None = None, *, password: str = PASSWORD, **fields):
    """An account (its profile comes with it); ``fields`` go to ``create_user``."""
    username = username or f"user{next(_numbers)}"
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, password=password, **fields)


def make_guest(ip: str = "203.0.113.7") -> Identity:
    """A live guest record in Redis, as the guest button creates it."""
    return guests.create_guest(ip=ip)


def make_match(*, waited: float, now: float, interest: str = "jazz") -> Pairing:
    """A real match through the pool: one side joins, the other joins ``waited`` seconds later."""
    prefs = Preferences.from_client(interests=[interest])
    a, b = "g" + uuid.uuid4().hex[:12], "g" + uuid.uuid4().hex[:12]
    assert poolsync.join(identity_id=a, prefs=prefs, channel_name=f"chan.{a}", now=now - waited) is None
    pairing = poolsync.join(identity_id=b, prefs=prefs, channel_name=f"chan.{b}", now=now)
    assert isinstance(pairing, Pairing)
    return pairing
