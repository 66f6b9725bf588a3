"""What a leaderboard is: boards, periods, time buckets, retention and member encoding.

Pure functions of their arguments (the time is always passed in), shared by services,
selectors, the rebuild command and the tests.

Buckets
    ``day``  the UTC calendar day of the event, ``2026-11-26``;
    ``week`` the ISO 8601 week of the event's UTC date, ``2026-W48`` (weeks start on Monday,
             and the ISO year may differ from the calendar year around New Year);
    ``all``  one bucket, ``all``.

Retention
    A period key expires by itself ``retention`` after its bucket ends (EXPIREAT, set with every
    write, so the deadline does not depend on when the first write happened): a day board lives
    until two days after its day ends (today, yesterday and the day before stay readable), a week
    board until two weeks after its week ends. The all-time board never expires. No cron job
    deletes keys.

Members and ties
    A member is the user's primary key zero-padded to 12 digits (``000000000042``), so the
    lexicographic order Redis uses among equal scores is the numeric order of user ids. Boards are
    read highest score first (ZREVRANGE), and Redis returns equal scores in reverse lexicographic
    order, so **among equal scores the higher user id (the newer account) ranks first**. The order
    is total and stable: the same scores always give the same ranking.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

BOARDS = ("likes", "talk_time")
PERIODS = ("day", "week", "all")
ALL_BUCKET = "all"
MEMBER_WIDTH = 12

DEFAULT_LIMIT = 100
MAX_LIMIT = 200

# How long a bucket stays readable after it ends.
RETENTION = {
    "day": dt.timedelta(days=2),
    "week": dt.timedelta(weeks=2),
}


def member(user_id: int) -> str:
    return f"{int(user_id):0{MEMBER_WIDTH}d}"


def user_id_of(member_value: str) -> int:
    return int(member_value)


def _utc(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("leaderboard times must be timezone-aware")
    return now.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One time bucket of one period: its name and the half-open UTC interval it covers."""

    period: str
    name: str
    start: dt.datetime | None  # None for the all-time bucket
    end: dt.datetime | None

    @property
    def expires_at(self) -> dt.datetime | None:
        """When the bucket's key expires, or None for the all-time bucket."""
        if self.end is None:
            return None
        return self.end + RETENTION[self.period]

    def expires_at_unix(self) -> int | None:
        expires = self.expires_at
        return None if expires is None else int(expires.timestamp())

    def is_live(self, now: dt.datetime) -> bool:
        expires = self.expires_at
        return expires is None or expires > _utc(now)


def bucket_for(period: str, when: dt.datetime) -> Bucket:
    """The bucket of ``period`` that the instant ``when`` falls in."""
    when = _utc(when)
    if period == "day":
        start = dt.datetime.combine(when.date(), dt.time.min, tzinfo=dt.UTC)
        return Bucket("day", start.date().isoformat(), start, start + dt.timedelta(days=1))
    if period == "week":
        year, week, weekday = when.isocalendar()
        start = dt.datetime.combine(when.date() - dt.timedelta(days=weekday - 1), dt.time.min, tzinfo=dt.UTC)
        return Bucket("week", f"{year}-W{week:02d}", start, start + dt.timedelta(weeks=1))
    if period == "all":
        return Bucket("all", ALL_BUCKET, None, None)
    raise ValueError(f"unknown period {period!r}")


def buckets_for(when: dt.datetime) -> list[Bucket]:
    """Every bucket an event at ``when`` counts in: its day, its week and all time."""
    return [bucket_for(period, when) for period in PERIODS]


def live_buckets(period: str, now: dt.datetime, *, margin: int = 0) -> list[Bucket]:
    """The buckets of ``period`` whose keys may still exist at ``now``, newest first.

    ``margin`` adds that many older buckets, for sweeps that want to be generous about clocks.
    """
    if period == "all":
        return [bucket_for("all", now)]
    step = dt.timedelta(days=1) if period == "day" else dt.timedelta(weeks=1)
    found: list[Bucket] = []
    cursor = _utc(now)
    extra = margin
    while True:
        bucket = bucket_for(period, cursor)
        if bucket.is_live(now):
            found.append(bucket)
        elif extra > 0:
            found.append(bucket)
            extra -= 1
        else:
            return found
        cursor -= step


def validate(board: str, period: str) -> None:
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}")
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
