"""Which network a person uses: a keyed hash of the client address, never the address itself.

A ban covers the network its identity used (moderation keeps the hash on the ban), so the next
guest or the next account from that network meets the same ban. IPv6 clients are hashed per /64
(one subscriber's usual allocation), so hopping addresses inside it changes nothing.

Guests keep the hash of the address they were created from in their guest record. Accounts and
guests alike get the network they last used recorded under ``keys.network(identity)`` when they
log in or open the chat socket; it lives ``NETWORK_TTL_SECONDS`` and is harmless to lose (a ban
made without it still covers the identity).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from django.conf import settings

from seendr import keys
from seendr.redis_state import astate, state

NETWORK_TTL_SECONDS = 30 * 24 * 60 * 60


def subject(ip: str) -> str:
    """The part of an address that names a network: IPv4 whole, IPv6 widened to its /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def hash_ip(ip: str) -> str:
    """A keyed hash of a client's network: enough to enforce a ban, useless to anyone who reads it."""
    return hmac.new(settings.IP_HASH_KEY.encode(), subject(ip).encode(), hashlib.sha256).hexdigest()[:32]


def scope_client_ip(scope: dict) -> str | None:
    """The client address of an ASGI scope (a WebSocket), believing ``X-Forwarded-For`` only for
    the ``TRUSTED_PROXY_HOPS`` proxies we run, exactly like the HTTP side's ``client_ip``."""
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    if hops > 0:
        forwarded = b",".join(value for name, value in scope.get("headers", []) if name == b"x-forwarded-for")
        chain = [part.strip() for part in forwarded.decode("latin-1").split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    client = scope.get("client")
    return str(client[0]) if client else None


def record(*, identity_id: str, ip_hash: str) -> None:
    state().set(keys.network(identity_id), ip_hash, ex=NETWORK_TTL_SECONDS)


async def arecord(*, identity_id: str, ip_hash: str) -> None:
    await astate().set(keys.network(identity_id), ip_hash, ex=NETWORK_TTL_SECONDS)


def of(*, identity_id: str) -> str:
    """The network an identity last used (a guest: else the one it was created from), or ""."""
    client = state()
    recorded = client.get(keys.network(identity_id))
    if recorded:
        return recorded
    if identity_id.startswith("g"):
        return client.hget(keys.guest(identity_id), "ip_hash") or ""
    return ""
