"""The web process: Daphne on uvloop. ``python -m seendr.serve`` takes Daphne's own arguments.

Daphne runs Twisted on an asyncio loop that it creates when ``daphne.server`` is imported. Setting
uvloop's policy first makes that loop a uvloop one, so every socket read and write, timer and
callback of the live loop runs on libuv instead of the pure-Python selector loop (the
event-loop share of a busy web process's CPU; see docs/benchmarks.md, "Live loop").
``SEENDR_EVENT_LOOP=asyncio`` keeps the standard loop (to compare, or where uvloop cannot run).
"""

from __future__ import annotations

import asyncio
import os
import sys


def install_event_loop() -> str:
    """Install the event loop policy before anything creates a loop; returns its name."""
    if os.environ.get("SEENDR_EVENT_LOOP", "uvloop") == "asyncio":
        return "asyncio"
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def main() -> None:
    if "daphne.server" in sys.modules:
        raise RuntimeError("seendr.serve must install the event loop before Daphne is imported")
    install_event_loop()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
