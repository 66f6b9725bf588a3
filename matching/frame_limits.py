"""The rate limits of one chat socket's client frames.

Every frame type has a limit per identity in ``settings.RATE_LIMITS`` (a new type without its
own falls under ``ws_other``, never under none). Signal frames (offer, answer, ICE candidates)
come in bursts of many a second and count twice, by number and by bytes, because they are
relayed whole: those two limits are paid for in leases (``seendr.ratelimit_lease``), so most
signal frames cost no Redis call. Every other type asks Redis per frame.
"""

from __future__ import annotations

from seendr import ratelimit
from seendr.ratelimit import Decision
from seendr.ratelimit_lease import LeasedLimit

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
    "friend": "friend",
    "call": "call",
    "answer": "answer",
}
OTHER_FRAMES_LIMIT = "ws_other"


class FrameLimits:
    def __init__(self, *, subject: str) -> None:
        self.subject = subject
        self._signals = LeasedLimit(scope="ws_signal", subject=subject)
        self._signal_bytes = LeasedLimit(scope="ws_signal_bytes", subject=subject)

    async def check(self, frame_type: str, size: int) -> Decision:
        """Count one frame of ``frame_type`` (``size`` characters of text) against its limits."""
        if frame_type == "signal":
            decision = await self._signals.acheck()
            if decision.allowed:
                decision = await self._signal_bytes.acheck(cost=size)
            return decision
        scope = FRAME_LIMITS.get(frame_type, OTHER_FRAMES_LIMIT)
        return await ratelimit.acheck(scope=scope, subject=self.subject)
