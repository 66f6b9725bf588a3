"""match_partner / match_participants: live record first, then the Postgres history."""

from __future__ import annotations

import datetime as dt

import pytest

from matching import selectors
from matching.models import EndReason, Match
from matching.types import Preferences
from seendr import keys, redis_state
from seendr.testing import poolsync

T0 = 1_800_000_000.0


def _live_match() -> str:
    chess = Preferences(interests=("chess",))
    poolsync.join(identity_id="ga", prefs=chess, channel_name="ca", now=T0)
    return poolsync.join(identity_id="gb", prefs=chess, channel_name="cb", now=T0).match_id


@pytest.mark.django_db
def test_live_and_just_ended_match_found_in_redis_without_postgres(django_assert_num_queries):
    mid = _live_match()
    with django_assert_num_queries(0):
        assert selectors.match_participants(match_id=mid) == ("gb", "ga")
        assert selectors.match_partner(match_id=mid, identity_id="ga") == "gb"
        assert selectors.match_partner(match_id=mid, identity_id="gb") == "ga"
        assert selectors.match_partner(match_id=mid, identity_id="gc") is None
    poolsync.end_match(identity_id="ga", now=T0 + 10)
    with django_assert_num_queries(0):
        assert selectors.match_partner(match_id=mid, identity_id="ga") == "gb"


@pytest.mark.django_db
def test_falls_back_to_the_recorded_match_once_redis_forgot_it():
    mid = _live_match()
    poolsync.end_match(identity_id="ga", now=T0 + 10)
    started = dt.datetime.fromtimestamp(T0, tz=dt.UTC)
    Match.objects.create(
        id=mid,
        identity_a="gb",
        identity_b="ga",
        started_at=started,
        ended_at=started + dt.timedelta(seconds=10),
        duration_seconds=10,
        end_reason=EndReason.NEXT,
    )
    redis_state.state().delete(keys.live_match(mid))
    assert selectors.match_participants(match_id=mid) == ("gb", "ga")
    assert selectors.match_partner(match_id=mid, identity_id="ga") == "gb"


@pytest.mark.django_db
def test_unknown_or_malformed_match_id_is_none():
    assert selectors.match_participants(match_id="0" * 32) is None
    assert selectors.match_partner(match_id="0" * 32, identity_id="ga") is None
    assert selectors.match_participants(match_id="../*") is None
    assert selectors.match_participants(match_id="x" * 33) is None
