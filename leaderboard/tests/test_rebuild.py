import datetime as dt
import io
import logging
import time
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from leaderboard import boards, services, tasks
from leaderboard.tests.conftest import guest
from matching.models import Match
from moderation import services as moderation
from moderation.models import Report
from profiles.models import Profile
from seendr import keys
from seendr.redis_state import lua, scan_delete, state

DAY = dt.timedelta(days=1)


def snapshot() -> dict[str, tuple[list, int]]:
    """Every board key of this run: its members with scores, and its absolute expiry."""
    client = state()
    pattern = keys.leaderboard("*", "*", "*")
    return {
        key: (client.zrange(key, 0, -1, withscores=True), client.expiretime(key))
        for key in sorted(client.scan_iter(match=pattern, count=1000))
    }


def ban(user_id: int, until: dt.datetime) -> None:
    state().zadd(keys.banned(), {f"u{user_id}": until.timestamp()})


def record_match(a, b, *, ended_at, seconds, b_identity=None):
    match = Match.objects.create(
        id=uuid.uuid4().hex,
        identity_a=f"u{a.pk}",
        identity_b=b_identity or f"u{b.pk}",
        user_a=a,
        user_b=b,
        started_at=ended_at - dt.timedelta(seconds=seconds),
        ended_at=ended_at,
        duration_seconds=seconds,
        end_reason="leave",
    )
    services.record_talk_time(match=match, now=ended_at)


@pytest.fixture
def history(make_user, identity_of, django_capture_on_commit_callbacks):
    """Likes and matches spread over today, the last days and weeks, written the normal way."""
    users = [make_user(f"hist{i}") for i in range(6)]
    a, b, c, d, e, banned = users
    now = timezone.now()
    visitor = guest()
    with django_capture_on_commit_callbacks(execute=True):
        for offset, (liker, liked) in enumerate(
            [(a, b), (c, b), (d, b), (a, c), (b, a), (e, d), (banned, a)]
        ):
            for age in (0, 1, 2, 3, 9, 40):
                when = now - age * DAY - dt.timedelta(minutes=offset)
                services.like_partner(
                    match_id=uuid.uuid4().hex, liker=identity_of(liker), liked_id=f"u{liked.pk}", now=when
                )
        services.like_partner(match_id=uuid.uuid4().hex, liker=visitor, liked_id=f"u{e.pk}", now=now)
        services.like_partner(match_id=uuid.uuid4().hex, liker=identity_of(e), liked_id=visitor.id, now=now)
        services.like_partner(
            match_id=uuid.uuid4().hex, liker=identity_of(a), liked_id=f"u{banned.pk}", now=now
        )
        for age, seconds in ((0, 65.5), (1, 300.9), (2, 12.0), (5, 1000.0), (20, 42.2)):
            record_match(a, b, ended_at=now - age * DAY, seconds=seconds)
            record_match(c, None, ended_at=now - age * DAY, seconds=seconds + 1, b_identity=visitor.id)
            record_match(banned, d, ended_at=now - age * DAY, seconds=7)
    ban(banned.pk, now + 30 * DAY)
    services.remove_user(user_id=banned.pk)
    return {"users": users, "now": now}


def test_rebuild_recreates_every_board_exactly(history):
    before = snapshot()
    banned = history["users"][-1]
    a = history["users"][0]
    assert len(before) >= 10
    assert before[keys.leaderboard("talk_time", "all", "all")][0] == sorted(
        [
            (boards.member(a.pk), 65 + 300 + 12 + 1000 + 42),
            (boards.member(history["users"][1].pk), 65 + 300 + 12 + 1000 + 42),
            (boards.member(history["users"][2].pk), 66 + 301 + 13 + 1001 + 43),
            (boards.member(history["users"][3].pk), 7 * 5),
        ],
        key=lambda item: (item[1], item[0]),
    )
    assert all(boards.member(banned.pk) not in dict(members) for members, _ in before.values())

    assert scan_delete(state(), keys.leaderboard("*", "*", "*")) == len(before)
    assert snapshot() == {}
    summary = services.rebuild_boards(batch_size=2)
    assert snapshot() == before
    assert summary.members == sum(len(members) for members, _ in before.values())
    assert not list(state().scan_iter(match=keys.leaderboard_build("*", "*", "*", "*")))


def test_rebuild_replaces_stale_boards_and_drops_empty_ones(history):
    before = snapshot()
    stale_day = keys.leaderboard("likes", "day", boards.bucket_for("day", history["now"]).name)
    state().zadd(stale_day, {boards.member(999_999): 1000})
    # A board Postgres knows nothing about for a live bucket: rebuilt as empty, i.e. removed.
    three_weeks = boards.live_buckets("week", history["now"])[-1]
    ghost = keys.leaderboard("likes", "week", three_weeks.name)
    state().zadd(ghost, {boards.member(999_998): 5})
    services.rebuild_boards()
    after = snapshot()
    assert boards.member(999_999) not in dict(after[stale_day][0])
    assert ghost not in after or ghost in before
    assert after == before


def test_swap_drops_members_banned_during_the_build(db):
    live, build = keys.leaderboard("likes", "all", "all"), keys.leaderboard_build("likes", "all", "all", "t1")
    state().zadd(build, {boards.member(1): 3, boards.member(2): 5})
    state().expire(build, 60)
    assert lua("leaderboard", "swap").run(state(), [build, live], [0, boards.member(2)]) == 1
    assert state().zrange(live, 0, -1, withscores=True) == [(boards.member(1), 3.0)]
    assert state().ttl(live) == -1
    assert not state().exists(build)
    # An empty build empties the live board instead of failing.
    assert lua("leaderboard", "swap").run(state(), [build, live], [0]) == 0
    assert not state().exists(live)


def test_reconcile_repairs_drift_and_logs_it(history, caplog):
    before = snapshot()
    a, b, c = history["users"][:3]
    banned = history["users"][-1]
    now = history["now"]
    client = state()
    client.zincrby(keys.leaderboard("likes", "all", "all"), 5, boards.member(a.pk))  # counted twice
    client.zrem(
        keys.leaderboard("talk_time", "day", boards.bucket_for("day", now).name), boards.member(b.pk)
    )  # lost
    client.zadd(
        keys.leaderboard("likes", "week", boards.bucket_for("week", now).name), {boards.member(banned.pk): 9}
    )
    client.zadd(
        keys.leaderboard("likes", "day", boards.bucket_for("day", now).name), {boards.member(c.pk): 0.5}
    )
    with caplog.at_level(logging.WARNING, logger="leaderboard.services"):
        summary = services.reconcile_boards(settle_seconds=0)
    assert summary.fixed == 4
    assert len(summary.drift) == 4
    assert snapshot() == before
    assert sum("drift repaired" in r.getMessage() for r in caplog.records) == 4
    # Nothing left to repair.
    assert services.reconcile_boards(settle_seconds=0).fixed == 0


def test_reconcile_task_reports_what_it_fixed(history):
    state().zincrby(keys.leaderboard("likes", "all", "all"), 1, boards.member(history["users"][0].pk))
    result = tasks.reconcile_task.apply().get()
    assert result["fixed"] == 1
    assert result["drift"] == {"likes:all:all": 1}


def test_rebuild_command_prints_a_summary(history):
    before = snapshot()
    scan_delete(state(), keys.leaderboard("*", "*", "*"))
    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_leaderboards", "--batch-size", "3", stdout=out, stderr=err)
    assert snapshot() == before
    first_line = out.getvalue().splitlines()[0]
    assert first_line.startswith("rebuilt 14 boards, ")
    assert "members" in first_line
    assert "members" in err.getvalue()  # the progress bar


def test_the_nightly_karma_task_charges_each_upheld_report(
    make_user, identity_of, admin_user, django_capture_on_commit_callbacks
):
    """End to end: three likes and a real report a moderator upheld (a warning), then the task."""
    bob, reporter = make_user("karmabob"), make_user("karmastrict")
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            services.like_partner(
                match_id=uuid.uuid4().hex, liker=identity_of(make_user(f"karmafan{i}")), liked_id=f"u{bob.pk}"
            )
        moderation.report(
            match_id="karma01",
            reporter=identity_of(reporter),
            reported_id=f"u{bob.pk}",
            reason="harassment",
            note="",
        )
        moderation.warn_from_report(report_id=Report.objects.get(match_id="karma01").pk, moderator=admin_user)
    assert Profile.objects.get(user=bob).karma == pytest.approx(3)  # the likes' karma, before the night
    assert tasks.recompute_karma_task.apply().get() == 1  # only bob's karma changes
    # Joined today: no age points; each upheld report costs 25.
    assert Profile.objects.get(user=bob).karma == pytest.approx(3 - 25)


@pytest.mark.django_db(transaction=True)
def test_reconcile_keeps_likes_that_land_while_it_settles(make_user, identity_of):
    import threading

    from django.db import connection

    alice, bob = make_user(), make_user()
    for _ in range(2):
        services.like_partner(match_id=uuid.uuid4().hex, liker=identity_of(alice), liked_id=f"u{bob.pk}")
    all_time = keys.leaderboard("likes", "all", "all")
    state().zincrby(all_time, 3, boards.member(bob.pk))  # drift: 5 in Redis, 2 in Postgres
    outcome = {}

    def reconcile() -> None:
        try:
            outcome["summary"] = services.reconcile_boards(settle_seconds=1.0)
        finally:
            connection.close()

    worker = threading.Thread(target=reconcile)
    worker.start()
    time.sleep(0.5)  # inside the settle window: bob is already a suspect
    services.like_partner(match_id=uuid.uuid4().hex, liker=identity_of(alice), liked_id=f"u{bob.pk}")
    worker.join(timeout=30)
    assert state().zscore(all_time, boards.member(bob.pk)) == 3  # the 3 real likes, none lost
    assert outcome["summary"].drift["likes:all:all"] == 1
