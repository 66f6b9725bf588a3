"""The web process: Daphne on uvloop. ``python -m seendr.serve`` takes Daphne's own arguments.

Daphne runs Twisted on an asyncio loop that it creates when ``daphne.server`` is imported. Setting
uvloop's policy first makes that loop a uvloop one, so every socket read and write, timer and
callback of the live loop runs on libuv instead of the pure-Python selector loop (the
event-loop share of a busy web process's CPU; see docs/benchmarks.md, "Live loop").
``SEENDR_EVENT_LOOP=asyncio`` keeps the standard loop (to compare, or where uvloop cannot run).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys


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
    install_event_loop()
    settle_heap()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
