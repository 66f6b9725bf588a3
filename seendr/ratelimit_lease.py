"""A socket's local share of a Redis rate limit, for actions that come many a second.

A call starts with a burst of signal frames (an offer or answer, then one frame per ICE
candidate), and each of them asked Redis twice (frames, then bytes): two Lua calls and two
round trips before the frame could be relayed. A :class:`LeasedLimit` pays for a *lease* of
several units of the same Redis limit in one call and spends it locally, so most frames of a
burst cost no Redis call at all.

What stays true (the limit is the Redis one, per identity, across sockets and processes):

* Every unit is paid for in Redis before it is spent. Across all its sockets an identity never
  spends more than the Redis limit grants; a lease only moves the payment ahead of the spending.
* A lease lapses one period of its limit after it was granted, and whatever it had left is lost
  (never refunded): a unit is spent at most one period after it was paid for, and unspent units
  only make the limit stricter, never looser.
* A lease is at most a fifth of the limit's count (``LEASE_FRACTION``); a limit too small for a
  lease of two units is checked per action, as before.
* When Redis cannot grant a whole lease, the action is checked alone (cost 1, or its own
  size), so near the limit the action is refused exactly where a check per action would refuse
  it, with the same ``retry_after``; no lease is asked for again before the refused one could
  have passed, so a flood costs one Redis call per action, as before.
* Redis down: :func:`seendr.ratelimit.acheck` fails open, and so does a lease.
"""

from __future__ import annotations

import time

from seendr import ratelimit
from seendr.ratelimit import ALLOW, Decision

LEASE_FRACTION = 5  # a lease is at most 1/LEASE_FRACTION of the limit's count


class LeasedLimit:
    """The limit ``scope`` of ``subject``, paid for in Redis a lease at a time (one per socket)."""

    def __init__(self, *, scope: str, subject: str) -> None:
        self.scope = scope
        self.subject = subject
        self._left = 0  # units paid for and not yet spent
        self._lapses_at = 0.0
        self._no_lease_until = 0.0  # a lease was refused: check single actions until then

    async def acheck(self, *, cost: int = 1, now: float | None = None) -> Decision:
        t = time.time() if now is None else now
        if cost <= self._left and t < self._lapses_at:
            self._left -= cost
            return ALLOW
        self._left = 0
        limit = ratelimit.limit_for(self.scope)  # read each time: settings may change
        if limit is None:
            return ALLOW
        lease = max(cost, limit.count // LEASE_FRACTION)
        if lease > cost and t >= self._no_lease_until:
            granted = await ratelimit.acheck(
                scope=self.scope, subject=self.subject, now=now, cost=lease, count_refusal=False
            )
            if granted.allowed:
                self._left = lease - cost
                self._lapses_at = t + limit.period
                return granted
            self._no_lease_until = t + granted.retry_after
        return await ratelimit.acheck(scope=self.scope, subject=self.subject, now=now, cost=cost)
