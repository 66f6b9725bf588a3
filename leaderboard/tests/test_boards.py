import datetime as dt

import pytest

from leaderboard import boards

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_day_bucket_changes_exactly_at_utc_midnight():
    before = boards.bucket_for("day", at(2026, 11, 26, 23, 59, 59, 999999))
    after = boards.bucket_for("day", at(2026, 11, 27, 0, 0, 0))
    assert before.name == "2026-11-26"
    assert after.name == "2026-11-27"
    assert before.end == after.start


def test_day_bucket_uses_utc_not_the_local_offset():
    tokyo = dt.timezone(dt.timedelta(hours=9))
    # 08:00 on the 27th in Tokyo is 23:00 on the 26th in UTC.
    assert boards.bucket_for("day", dt.datetime(2026, 11, 27, 8, 0, tzinfo=tokyo)).name == "2026-11-26"


def test_iso_week_bucket_changes_on_monday():
    sunday = boards.bucket_for("week", at(2026, 11, 29, 23, 59, 59))
    monday = boards.bucket_for("week", at(2026, 11, 30, 0, 0, 0))
    assert sunday.name == "2026-W48"
    assert monday.name == "2026-W49"
    assert sunday.start == at(2026, 11, 23) and sunday.end == monday.start == at(2026, 11, 30)


def test_iso_week_across_new_year_keeps_the_iso_year():
    # 2026 has 53 ISO weeks; 1 January 2027 (a Friday) still belongs to 2026-W53.
    assert boards.bucket_for("week", at(2026, 12, 31, 12)).name == "2026-W53"
    assert boards.bucket_for("week", at(2027, 1, 1, 12)).name == "2026-W53"
    assert boards.bucket_for("week", at(2027, 1, 4, 0)).name == "2027-W01"
    # And the other way round: 29 December 2025 is already 2026-W01.
    assert boards.bucket_for("week", at(2025, 12, 29, 0)).name == "2026-W01"


def test_all_time_bucket_never_expires():
    bucket = boards.bucket_for("all", at(2026, 11, 26))
    assert bucket.name == "all"
    assert bucket.expires_at is None
    assert bucket.is_live(at(2999, 1, 1))


def test_retention_keeps_three_days_and_three_weeks_readable():
    now = at(2026, 11, 26, 12)
    assert [b.name for b in boards.live_buckets("day", now)] == ["2026-11-26", "2026-11-25", "2026-11-24"]
    assert [b.name for b in boards.live_buckets("week", now)] == ["2026-W48", "2026-W47", "2026-W46"]
    assert boards.bucket_for("day", now).expires_at == at(2026, 11, 29)
    assert boards.bucket_for("week", now).expires_at == at(2026, 12, 14)
    assert [b.name for b in boards.live_buckets("day", now, margin=1)][-1] == "2026-11-23"


def test_members_sort_lexicographically_like_their_ids():
    ids = [1, 9, 10, 99, 100, 123456789]
    assert sorted(boards.member(i) for i in ids) == [boards.member(i) for i in sorted(ids)]
    assert boards.user_id_of(boards.member(42)) == 42


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        boards.bucket_for("day", dt.datetime(2026, 11, 26))
    with pytest.raises(ValueError):
        boards.bucket_for("month", at(2026, 11, 26))
