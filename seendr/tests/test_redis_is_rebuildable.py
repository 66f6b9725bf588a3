"""DESIGN's rule, proved: everything in Redis is rebuildable from Postgres or harmless to lose.

Real durable state is made through the services (matches with talk time, likes, a block, a ban),
every Redis key of this run is wiped in every role, and the rebuild commands an operator would
run bring back exactly what the live state held.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from leaderboard import services as leaderboard_services
from leaderboard.selectors import board_key, board_scores
from matching.models import EndReason, Match
from moderation import services as moderation_services
from profiles import selectors as profile_selectors
from profiles import services as profile_services
from seendr import keys
from seendr.identity import for_user, user_identity_id
from seendr.redis_state import state
from seendr.testing.fixtures import delete_prefixed_keys

pytestmark = pytest.mark.django_db(transaction=True)

BOARDS = [(board, period) for board in ("likes", "talk_time") for period in ("day", "week", "all")]


def _match(a, b, *, minutes: float, ended_at: dt.datetime, n: int) -> Match:
    match = Match.objects.create(
        id=f"rebuild{n:04d}",
        identity_a=user_identity_id(a.pk),
        identity_b=user_identity_id(b.pk),
        user_a=a,
        user_b=b,
        name_a=a.username,
        name_b=b.username,
        started_at=ended_at - dt.timedelta(minutes=minutes),
        ended_at=ended_at,
        duration_seconds=minutes * 60,
        ended_by=user_identity_id(a.pk),
        end_reason=EndReason.NEXT,
    )
    leaderboard_services.record_talk_time(match=match, now=ended_at)
    return match


def _snapshot(now: dt.datetime, people: dict) -> dict:
    client = state()
    return {
        "boards": {bp: board_scores(key=board_key(board=bp[0], period=bp[1], now=now)) for bp in BOARDS},
        "blocks": client.smembers(keys.blocks(user_identity_id(people["ann"].pk))),
        "banned": sorted(client.zrange(keys.banned(), 0, -1)),
    }


def test_wiping_redis_loses_nothing_the_rebuild_commands_cannot_restore():
    now = timezone.now()
    users = get_user_model().objects
    people = {
        name: users.create_user(username=name, password="pw-12345-long")
        for name in ("ann", "bo", "cy", "dee")
    }
    ann, bo, cy, dee = people.values()
    first = _match(ann, bo, minutes=7, ended_at=now - dt.timedelta(minutes=30), n=1)
    second = _match(bo, cy, minutes=3.5, ended_at=now - dt.timedelta(minutes=5), n=2)
    _match(ann, cy, minutes=1, ended_at=now - dt.timedelta(minutes=1), n=3)
    assert leaderboard_services.like_partner(
        match_id=first.id, liker=for_user(ann), liked_id=user_identity_id(bo.pk)
    )
    assert leaderboard_services.like_partner(
        match_id=second.id, liker=for_user(cy), liked_id=user_identity_id(bo.pk)
    )
    assert leaderboard_services.like_partner(
        match_id=first.id, liker=for_user(bo), liked_id=user_identity_id(ann.pk)
    )
    profile_services.block(blocker_id=user_identity_id(ann.pk), blocked_id=user_identity_id(cy.pk))
    moderation_services.ban(identity_id=user_identity_id(dee.pk), until=None, reason="spam")

    before = _snapshot(now, people)
    assert before["boards"][("likes", "all")] == {bo.pk: 2, ann.pk: 1}
    assert before["boards"][("talk_time", "day")][ann.pk] == 8 * 60
    assert before["blocks"] == {user_identity_id(cy.pk)}
    assert before["banned"] == [user_identity_id(dee.pk)]

    delete_prefixed_keys()  # every role: cache, state, channels, broker
    wiped = _snapshot(now, people)
    assert all(not scores for scores in wiped["boards"].values())
    assert wiped["blocks"] == set() and wiped["banned"] == []

    out = StringIO()
    call_command("rebuild_leaderboards", "--no-progress", stdout=out)
    call_command("rebuild_block_sets", stdout=out)
    call_command("rebuild_ban_set", stdout=out)
    call_command("warm_cache", "--no-progress", stdout=out)

    assert _snapshot(now, people) == before
    card = profile_selectors.get_public_profile(username="bo")
    assert card is not None and card["likes"] == 2
