"""Karma: one number per registered user saying how the community has received them.

Formula (kept deliberately simple so a moderator can recompute it by hand)::

    karma = LIKE_POINTS * likes_received
          + AGE_POINTS_PER_DAY * min(account_age_days, AGE_CAP_DAYS)
          - REPORT_PENALTY * upheld_reports

    with LIKE_POINTS = 1, AGE_POINTS_PER_DAY = 0.1, AGE_CAP_DAYS = 365, REPORT_PENALTY = 25,
    rounded to two decimals. It may go below zero.

* ``likes_received`` is ``Profile.likes_received`` (one per like, at most one per match).
* ``account_age_days`` is whole days since ``User.date_joined``; age earns at most 36.5 points, so
  an old account cannot outweigh its reports.
* ``upheld_reports`` counts reports against the user that a moderator upheld. One upheld report
  costs as much as 25 likes. The count comes from moderation (one floor down) through
  :func:`upheld_report_counts`; callers that already know the count pass it in.

Karma is stored on ``Profile.karma``: recomputed for the liked user on every like
(``leaderboard.services.like_partner``) and for everybody by the nightly task
``leaderboard.tasks.recompute_karma_task``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from moderation import selectors as moderation_selectors

LIKE_POINTS = 1.0
AGE_POINTS_PER_DAY = 0.1
AGE_CAP_DAYS = 365
REPORT_PENALTY = 25.0


def compute(*, likes_received: int, upheld_reports: int, account_age_days: int) -> float:
    age = min(max(int(account_age_days), 0), AGE_CAP_DAYS)
    value = (
        LIKE_POINTS * max(int(likes_received), 0)
        + AGE_POINTS_PER_DAY * age
        - REPORT_PENALTY * max(int(upheld_reports), 0)
    )
    return round(value, 2)


def account_age_days(*, date_joined: dt.datetime, now: dt.datetime) -> int:
    return max((now - date_joined).days, 0)


def upheld_report_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Upheld reports per user (a user with none is absent: 0)."""
    ids = sorted({int(uid) for uid in user_ids})
    if not ids:
        return {}
    counts = moderation_selectors.upheld_report_counts(user_ids=ids)
    return {int(uid): int(count) for uid, count in counts.items()}
