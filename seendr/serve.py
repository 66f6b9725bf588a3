"""The web process: Daphne on uvloop. ``python -m seendr.serve`` takes Daphne's own arguments.

Daphne runs Twisted on an asyncio loop that it creates when ``daphne.server`` is imported. Setting
uvloop's policy first makes that loop a uvloop one, so every socket read and write, timer and
callback of the live loop runs on libuv instead of the pure-Python selector loop (the
event-loop share of a busy web process's CPU; see docs/benchmarks.md, "Live loop").
``SEENDR_EVENT_LOOP=asyncio`` keeps the standard loop (to compare, or where uvloop cannot run).

The garbage collector is set for a process that holds thousands of long-lived sockets (see
:data:`GC_THRESHOLDS`); ``SEENDR_GC_THRESHOLDS=700,10,10`` restores CPython's own.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys

# CPython's (700, 10, 10) promotes to the oldest generation everything that outlives ~7,000
# allocations: under churn that is every match in progress, a few milliseconds old. The oldest
# generation then fills with short-lived garbage, and each of its collections walks every live
# socket's objects too (about 200 per socket: 110-250 ms at 1,100 sockets, seven times in two
# minutes of churn, the live loop's p99). With 50,000 allocations per young collection and 20
# young per middle one, a match's objects die young, and a full collection becomes rare (one
# in the same two minutes). Refcounting frees everything acyclic at once either way.
GC_THRESHOLDS = (50_000, 20, 10)


def tune_collector(environ=os.environ) -> tuple[int, int, int]:
    """Set the collector's thresholds (``SEENDR_GC_THRESHOLDS``, else :data:`GC_THRESHOLDS`);
    returns them."""
    raw = environ.get("SEENDR_GC_THRESHOLDS", "")
    thresholds = GC_THRESHOLDS
    if raw:
        try:
            thresholds = tuple(int(part) for part in raw.split(","))
        except ValueError:
            thresholds = ()
        if len(thresholds) != 3 or min(thresholds) < 1:
            raise SystemExit(
                f"SEENDR_GC_THRESHOLDS must be three positive integers, like 700,10,10 (got {raw!r})"
            )
    gc.set_threshold(*thresholds)
    return thresholds


def install_event_loop() -> str:
    """Install the event loop policy before anything creates a loop; returns its name."""
    if os.environ.get("SEENDR_EVENT_LOOP", "uvloop") == "asyncio":
        return "asyncio"
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def settle_heap() -> None:
    """Load the application now, then take everything loaded so far out of the garbage
    collector's walks (``gc.freeze``): Django, the models, the URL and template machinery and the
    language model are never garbage, yet every full collection of a loaded process would walk
    them all, a pause that lands on whichever frames are waiting then (the p99 of the live loop)."""
    import seendr.asgi  # noqa: F401 - the application (and Django, set up by it)

    gc.collect()
    gc.freeze()


def main() -> None:
    if "daphne.server" in sys.modules:
        raise RuntimeError("seendr.serve must install the event loop before Daphne is imported")
    tune_collector()  # first: a malformed setting stops the process before the app loads
    install_event_loop()
    settle_heap()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
