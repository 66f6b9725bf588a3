"""Shared helpers for the leaderboard tests: real users, real Redis, times near the real clock.

Board keys carry an EXPIREAT derived from their bucket, so tests pick event times whose buckets
are still alive by the real clock (a bucket from last month would expire on the spot).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from leaderboard import boards
from seendr import keys
from seendr.identity import Identity, for_user
from seendr.redis_state import state

_counter = itertools.count(1)


def next_midnight(now: dt.datetime | None = None) -> dt.datetime:
    now = (now or timezone.now()).astimezone(dt.UTC)
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def next_monday(now: dt.datetime | None = None) -> dt.datetime:
    midnight = next_midnight(now)
    return midnight + dt.timedelta(days=(7 - midnight.weekday()) % 7)


def board(board_name: str, period: str, when: dt.datetime) -> dict[int, float]:
    """One board bucket as {user id: score}, read straight from Redis."""
    key = keys.leaderboard(board_name, period, boards.bucket_for(period, when).name)
    return {int(m): s for m, s in state().zrange(key, 0, -1, withscores=True)}


def guest(name: str = "Quiet Otter 123") -> Identity:
    return Identity(id="g" + f"{next(_counter):024x}", name=name, guest=True)


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, *, display_name: str = "", **fields):
        username = username or f"user{next(_counter)}"
        user = get_user_model().objects.create_user(username=username, password="pw-for-tests-only", **fields)
        if display_name:
            user.profile.display_name = display_name
            user.profile.save(update_fields=["display_name"])
        return user

    return make


@pytest.fixture
def identity_of():
    return for_user
