"""A Celery worker is killed with SIGKILL while it writes match history; a new worker finishes the job.

Matches are formed and ended through the pool and ``matching.services.enqueue_history`` (what
the consumer calls after ``end_match``), with no worker running, so the queue is full when the
first worker starts. It is killed once it has written some of them. After a second worker
starts, every match must be in PostgreSQL exactly once.

The task is acknowledged late and rejected when its worker is lost, so the message the dead
worker held stays in the broker's "unacked" set and is restored once the visibility timeout has
passed: one hour in production (``CELERY_VISIBILITY_TIMEOUT``), 10 s here so the test can see it.
A worker scans for such messages when it starts and then only every ~100 s (kombu's restore
interval x throttle), so the new worker is started after the timeout: it restores the message
at once. In production the lost write arrives up to an hour late, never twice and never lost.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.faults.stack import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MATCHES = 150
VISIBILITY = "10"

MAKE_MATCHES = """
import json, time
from matching import pool, services
ids = []
now = time.time()
for i in range({n}):
    a, b = f"gceleryfaulta{{i}}", f"gceleryfaultb{{i}}"
    prefs = pool.Preferences(interests=(f"celeryfault{{i}}",))
    assert pool.join_sync(identity_id=a, prefs=prefs, channel_name="bench.a", now=now) is None
    pairing = pool.join_sync(identity_id=b, prefs=prefs, channel_name="bench.b", now=now)
    ended = pool.end_match_sync(identity_id=b, now=now + 1, reason="next")
    services.enqueue_history(ended=ended, ended_by=b, reason="next", names={{a: "A", b: "B"}})
    ids.append(pairing.match_id)
print(json.dumps(ids))
"""

COUNT = """
import json
from django.db.models import Count
from matching.models import Match
ids = json.loads({ids!r})
rows = Match.objects.filter(pk__in=ids)
dupes = list(Match.objects.values("id").annotate(n=Count("id")).filter(n__gt=1).values_list("id", flat=True))
print(json.dumps({{"found": rows.count(), "dupes": dupes, "total": Match.objects.count()}}))
"""


def _count(stack, ids: list[str]) -> dict:
    return json.loads(stack.shell(COUNT.format(ids=json.dumps(ids))))


def test_sigkill_worker_while_writing_history(stack) -> None:
    env = {"CELERY_VISIBILITY_TIMEOUT": VISIBILITY}
    stack.shell("from matching.models import Match; Match.objects.all().delete()")
    ids = json.loads(stack.shell(MAKE_MATCHES.format(n=MATCHES), **env))
    assert len(set(ids)) == MATCHES
    assert _count(stack, ids)["found"] == 0

    first = stack.celery(**env)
    progress = wait_until(
        lambda: (n := _count(stack, ids)["found"]) >= 5 and n,
        60,
        interval=0.05,
        what="the first worker writing history",
    )
    first.kill(signal.SIGKILL)
    at_kill = _count(stack, ids)["found"]
    assert at_kill < MATCHES, f"the worker finished all {MATCHES} before it could be killed (saw {progress})"

    time.sleep(int(VISIBILITY) + 1)
    stack.celery(**env)
    deadline = time.monotonic() + 60
    counts = _count(stack, ids)
    while counts["found"] < MATCHES and time.monotonic() < deadline:
        time.sleep(0.5)
        counts = _count(stack, ids)
    print(f"killed with {at_kill} of {MATCHES} written; after a new worker: {counts}")
    assert counts["found"] == MATCHES, f"matches missing after the new worker ran: {counts}"
    assert counts["dupes"] == []
    assert counts["total"] == MATCHES
