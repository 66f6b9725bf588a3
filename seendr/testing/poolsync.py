"""Synchronous drivers of the asyncio pool, for tests that set up or inspect the pool.

Every call runs on one background event loop (so one asyncio Redis client serves them all),
which also lets threads of a test call in at the same time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from matching import pool
from matching.types import Banned, EndedMatch, Matched, Pairing, Preferences

T = TypeVar("T")

_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, name="poolsync", daemon=True).start()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout=60)


def _pairing(outcome: Matched | Any) -> Pairing | Banned | None:
    if isinstance(outcome, Matched):
        return outcome.pairing
    if isinstance(outcome, Banned):
        return outcome
    return None


def join(
    *,
    identity_id: str,
    prefs: Preferences,
    channel_name: str,
    now: float,
    card_json: str = "",
    network: str = "",
) -> Pairing | Banned | None:
    """The pairing formed (the caller is the initiator), Banned, or None when queued."""
    return _pairing(
        run(
            pool.join(
                identity_id=identity_id,
                prefs=prefs,
                channel_name=channel_name,
                now=now,
                card_json=card_json,
                network=network,
            )
        )
    )


def retry(*, identity_id: str, now: float) -> Pairing | Banned | None:
    return _pairing(run(pool.retry(identity_id=identity_id, now=now)))


def end_match(*, identity_id: str, now: float, reason: str = "") -> EndedMatch | None:
    return run(pool.end_match(identity_id=identity_id, now=now, reason=reason))


def leave_pool(*, identity_id: str) -> bool:
    return run(pool.leave_pool(identity_id=identity_id))


def heartbeat(*, identity_id: str, now: float) -> None:
    run(pool.heartbeat(identity_id=identity_id, now=now))


def current_match(*, identity_id: str) -> tuple[str, str, str] | None:
    return run(pool.current_match(identity_id=identity_id))
