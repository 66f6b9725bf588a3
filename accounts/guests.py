"""Guest identities: a friendly generated name that lives in Redis with a TTL, never in Postgres."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from accounts.identity import Identity
from seendr import keys
from seendr.redis_state import state

GUEST_TTL_SECONDS = 60 * 60 * 24

_ADJECTIVES = (
    "Quiet",
    "Brave",
    "Sunny",
    "Gentle",
    "Curious",
    "Witty",
    "Calm",
    "Bright",
    "Lucky",
    "Swift",
    "Clever",
    "Cosy",
    "Bold",
    "Merry",
    "Mellow",
    "Nimble",
    "Proud",
    "Shy",
    "Wild",
    "Zesty",
)
_ANIMALS = (
    "Otter",
    "Fox",
    "Panda",
    "Heron",
    "Lynx",
    "Koala",
    "Falcon",
    "Badger",
    "Dolphin",
    "Owl",
    "Tiger",
    "Walrus",
    "Robin",
    "Yak",
    "Gecko",
    "Marten",
    "Puffin",
    "Bison",
    "Seal",
    "Wren",
)


def friendly_name() -> str:
    """A name such as "Quiet Otter 482"."""
    rng = secrets.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_ANIMALS)} {rng.randint(100, 999)}"


def hash_ip(ip: str) -> str:
    """A keyed hash of an IP address: enough to enforce a ban, useless to anyone who reads it."""
    return hmac.new(settings.IP_HASH_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


def create_guest(*, ip: str) -> Identity:
    guest_id = "g" + secrets.token_hex(12)
    name = friendly_name()
    key = keys.guest(guest_id)
    pipe = state().pipeline()
    pipe.hset(key, mapping={"name": name, "ip_hash": hash_ip(ip)})
    pipe.expire(key, GUEST_TTL_SECONDS)
    pipe.execute()
    return Identity(id=guest_id, name=name, guest=True)


def get_guest(*, guest_id: str) -> Identity | None:
    name = state().hget(keys.guest(guest_id), "name")
    if name is None:
        return None
    return Identity(id=guest_id, name=name, guest=True)


def guest_ip_hash(*, guest_id: str) -> str | None:
    return state().hget(keys.guest(guest_id), "ip_hash")
