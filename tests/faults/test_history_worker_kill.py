"""A Celery worker killed with SIGKILL costs no match history.

Match history is durable data, so it no longer travels through the broker: each web process
writes its finished matches to PostgreSQL itself, in batches, from a thread beside the event
loop (``matching/history.py``). Here the only Celery worker is killed with SIGKILL while people
are talking; every match they end afterwards (over real sockets on a real Daphne) must be in
PostgreSQL within a couple of seconds, exactly once, with no worker running and without waiting
for any broker visibility timeout (an hour in production).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from tests.faults.helpers import connect_all, pair_up
from tests.faults.stack import Browser, ChatClient, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PAIRS = 12
WITHIN_SECONDS = 3.0

COUNT = """
import json
from matching.models import Match
ids = json.loads({ids!r})
print(json.dumps({{"found": Match.objects.filter(pk__in=ids).count(), "total": Match.objects.count()}}))
"""


def _count(stack, ids: list[str]) -> dict:
    return json.loads(stack.shell(COUNT.format(ids=json.dumps(ids))))


def test_sigkill_worker_loses_no_match_history(stack) -> None:
    stack.shell("from matching.models import Match; Match.objects.all().delete()")
    server = stack.daphne()
    worker = stack.celery()
    browsers = []
    for _ in range(2 * PAIRS):
        b = Browser(server.url)
        b.become_guest()
        browsers.append(b)
    clients = [ChatClient(server.ws_url, b.cookie_header(), name=f"c{i}") for i, b in enumerate(browsers)]
    ids = asyncio.run(_scenario(worker, clients))
    assert len(set(ids)) == PAIRS
    counts = wait_until(
        lambda: (c := _count(stack, ids))["found"] == PAIRS and c,
        WITHIN_SECONDS + 10,
        interval=0.2,
        what="every ended match in PostgreSQL",
    )
    assert counts == {"found": PAIRS, "total": PAIRS}
    assert not worker.alive()


async def _scenario(worker, clients: list[ChatClient]) -> list[str]:
    await connect_all(clients)
    pairs = list(zip(clients[::2], clients[1::2], strict=True))
    ids = await asyncio.gather(*(pair_up(a, b, f"historyfault{i}") for i, (a, b) in enumerate(pairs)))
    worker.kill(signal.SIGKILL)
    await asyncio.sleep(0.2)
    ended_at = time.monotonic()
    for a, _ in pairs:
        await a.send({"type": "leave"})
    await asyncio.gather(*(b.expect("partner_left", 10) for _, b in pairs))
    for c in clients:
        await c.close()
    assert time.monotonic() - ended_at < 10
    return list(ids)
