"""How many chat sockets one network may hold open on this server process.

One address opened 300 sockets, each a presence entry, a channel-layer subscription and a
share of every ``online`` broadcast. This caps open sockets per network hash (an IPv6 /64 counts
as one) at ``settings.CHAT_SOCKETS_PER_NETWORK`` per process. The count lives in the process, so
a crashed server leaves nothing stale behind; across processes nginx's ``limit_conn`` caps the
whole site (deploy/nginx.conf). Identities are capped elsewhere: one live socket each (a newer one
replaces it) and ``ws_connect`` opens per minute.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings

_open: Counter[str] = Counter()


def admit(network: str) -> bool:
    """Count one more socket of ``network``; False (and nothing counted) when it is full."""
    if not network:
        return True  # no client address known (an in-process test): nothing to count by
    if _open[network] >= settings.CHAT_SOCKETS_PER_NETWORK:
        return False
    _open[network] += 1
    return True


def release(network: str) -> None:
    if not network:
        return
    _open[network] -= 1
    if _open[network] <= 0:
        del _open[network]
