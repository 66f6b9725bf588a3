"""The matching app's commands: ``matching_stats`` and ``sweep_pool``."""

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

from matching.types import Preferences
from seendr import keys
from seendr.redis_state import state
from seendr.testing import poolsync
from seendr.testing.factories import make_match
from seendr.testing.servers import manage

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/1"


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- matching_stats -----------------------------------------------------------------------------


def test_matching_stats_reports_the_pool_now():
    now = time.time()
    make_match(waited=4.0, now=now)
    prefs = Preferences.from_client(interests=["knitting"])
    assert poolsync.join(identity_id="gwaiting00001", prefs=prefs, channel_name="c.w", now=now) is None

    out, _ = run("matching_stats")
    lines = dict(line.rsplit(None, 1) for line in out.splitlines()[:5])
    assert lines["waiting"] == "1"
    assert lines["in call"] == "2"
    assert lines["matches, last hour"] == "1"
    assert out.splitlines()[-1] == "0 online, 1 waiting, 2 in call, 1 matches in the last hour."

    data = json.loads(run("matching_stats", "--json")[0])
    assert data["waiting"] == 1 and data["in_call"] == 2 and data["matches_last_hour"] == 1
    assert data["median_wait_seconds_last_minute"] == 2.0  # the two sides waited 4 and 0 seconds


def test_matching_stats_fails_clearly_without_redis():
    result = manage("matching_stats", REDIS_STATE_URL=DEAD_REDIS)
    assert result.returncode == 1
    assert "CommandError: the state Redis did not answer" in result.stderr
    assert "Traceback" not in result.stderr


# --- sweep_pool -------------------------------------------------------------------------------


def test_sweep_pool_removes_ghosts_and_keeps_live_tickets():
    now = time.time()
    prefs = Preferences.from_client(interests=["jazz"])
    assert poolsync.join(identity_id="gliving000001", prefs=prefs, channel_name="c.l", now=now) is None
    state().sadd(keys.pool_waiting(), "gghost0000003")  # a member whose ticket is gone

    out, _ = run("sweep_pool")
    assert "removed 1 ghosts" in out
    assert state().smembers(keys.pool_waiting()) == {"gliving000001"}
    assert "removed 0 ghosts" in run("sweep_pool")[0]


def test_sweep_pool_exits_non_zero_without_redis():
    result = manage("sweep_pool", REDIS_STATE_URL=DEAD_REDIS)
    assert result.returncode == 1
    assert "CommandError: sweep failed" in result.stderr
