"""Creating guest identities: a friendly generated name that lives in Redis with a TTL, never in
Postgres. Reading a guest back is ``seendr.identity``'s job (every app needs it)."""

from __future__ import annotations

import secrets

from seendr import keys, networks
from seendr.identity import GUEST_TTL_SECONDS, Identity
from seendr.redis_state import state

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


def create_guest(*, ip: str) -> Identity:
    guest_id = "g" + secrets.token_hex(12)
    name = friendly_name()
    key = keys.guest(guest_id)
    pipe = state().pipeline()
    pipe.hset(key, mapping={"name": name, "ip_hash": networks.hash_ip(ip)})
    pipe.expire(key, GUEST_TTL_SECONDS)
    pipe.execute()
    return Identity(id=guest_id, name=name, guest=True)
