import datetime as dt
import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from leaderboard import boards, services
from leaderboard.models import Like
from leaderboard.tests.conftest import board, guest, next_midnight, next_monday
from matching.models import Match
from profiles.models import Profile
from seendr import keys
from seendr.errors import ServiceError
from seendr.redis_state import state

SECOND = dt.timedelta(seconds=1)


def match_id() -> str:
    return uuid.uuid4().hex


def ban(user_id: int, until: dt.datetime) -> None:
    """What the moderation app does in Redis when it bans an account."""
    state().zadd(keys.banned(), {f"u{user_id}": until.timestamp()})


def make_match(a, b, *, ended_at: dt.datetime, seconds: float, a_identity=None, b_identity=None) -> Match:
    return Match.objects.create(
        id=match_id(),
        identity_a=a_identity or f"u{a.pk}",
        identity_b=b_identity or f"u{b.pk}",
        user_a=a,
        user_b=b,
        started_at=ended_at - dt.timedelta(seconds=seconds),
        ended_at=ended_at,
        duration_seconds=seconds,
        end_reason="next",
    )


# --- Likes ---------------------------------------------------------------------------------


def test_like_counts_once_per_match_and_updates_profile(
    make_user, identity_of, django_capture_on_commit_callbacks
):
    alice, bob = make_user("alice"), make_user("bob")
    mid = match_id()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            services.like_partner(match_id=mid, liker=identity_of(alice), liked_id=f"u{bob.pk}", now=now)
            is True
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            services.like_partner(match_id=mid, liker=identity_of(alice), liked_id=f"u{bob.pk}", now=now)
            is False
        )
    assert Like.objects.count() == 1
    like = Like.objects.get()
    assert (like.liker_user, like.liked_user, like.liked_identity) == (alice, bob, f"u{bob.pk}")
    assert Profile.objects.get(user=bob).likes_received == 1
    for period in boards.PERIODS:
        assert board("likes", period, now) == {bob.pk: 1}
    # A new match is a new chance to like.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.like_partner(
            match_id=match_id(), liker=identity_of(alice), liked_id=f"u{bob.pk}", now=now
        )
    assert board("likes", "all", now) == {bob.pk: 2}


def test_liking_yourself_is_refused(make_user, identity_of):
    alice = make_user()
    with pytest.raises(ServiceError):
        services.like_partner(match_id=match_id(), liker=identity_of(alice), liked_id=f"u{alice.pk}")
    assert not Like.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_likes_of_one_match_count_once(make_user, identity_of):
    liker, liked = make_user(), make_user()
    mid = match_id()
    now = timezone.now()
    barrier = threading.Barrier(20)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def like() -> None:
        try:
            barrier.wait(timeout=10)
            created = services.like_partner(
                match_id=mid, liker=identity_of(liker), liked_id=f"u{liked.pk}", now=now
            )
            with lock:
                results.append(created)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=like) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(results) == [False] * 19 + [True]
    assert Like.objects.filter(match_id=mid).count() == 1
    assert Profile.objects.get(user=liked).likes_received == 1
    for period in boards.PERIODS:
        assert board("likes", period, now) == {liked.pk: 1}


@pytest.mark.django_db(transaction=True)
def test_parallel_likes_from_different_matches_all_count(make_user, identity_of):
    liked = make_user()
    likers = [make_user() for _ in range(12)]
    now = timezone.now()
    barrier = threading.Barrier(len(likers))
    errors: list[BaseException] = []

    def like(user) -> None:
        try:
            barrier.wait(timeout=10)
            assert services.like_partner(
                match_id=match_id(), liker=identity_of(user), liked_id=f"u{liked.pk}", now=now
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=like, args=(u,)) for u in likers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert Profile.objects.get(user=liked).likes_received == 12
    assert board("likes", "all", now) == {liked.pk: 12}


def test_likes_fall_in_the_day_bucket_of_their_time_across_midnight(
    make_user, identity_of, django_capture_on_commit_callbacks
):
    alice, bob, carol = make_user(), make_user(), make_user()
    midnight = next_midnight()
    before, after = midnight - SECOND, midnight + SECOND
    with django_capture_on_commit_callbacks(execute=True):
        services.like_partner(
            match_id=match_id(), liker=identity_of(alice), liked_id=f"u{carol.pk}", now=before
        )
        services.like_partner(match_id=match_id(), liker=identity_of(bob), liked_id=f"u{carol.pk}", now=after)
    assert board("likes", "day", before) == {carol.pk: 1}
    assert board("likes", "day", after) == {carol.pk: 1}
    assert boards.bucket_for("day", before).name != boards.bucket_for("day", after).name
    assert board("likes", "all", after) == {carol.pk: 2}
    # Each day key expires two days after its own day ends, whenever it was written.
    for when in (before, after):
        key = keys.leaderboard("likes", "day", boards.bucket_for("day", when).name)
        assert state().expiretime(key) == boards.bucket_for("day", when).expires_at_unix()
    assert state().ttl(keys.leaderboard("likes", "all", "all")) == -1


def test_likes_fall_in_the_iso_week_bucket_across_a_week_boundary(
    make_user, identity_of, django_capture_on_commit_callbacks
):
    alice, bob, carol = make_user(), make_user(), make_user()
    monday = next_monday()
    sunday_night, monday_morning = monday - SECOND, monday + SECOND
    with django_capture_on_commit_callbacks(execute=True):
        services.like_partner(
            match_id=match_id(), liker=identity_of(alice), liked_id=f"u{carol.pk}", now=sunday_night
        )
        services.like_partner(
            match_id=match_id(), liker=identity_of(bob), liked_id=f"u{carol.pk}", now=monday_morning
        )
        services.like_partner(
            match_id=match_id(), liker=identity_of(bob), liked_id=f"u{alice.pk}", now=monday_morning
        )
    assert board("likes", "week", sunday_night) == {carol.pk: 1}
    assert board("likes", "week", monday_morning) == {carol.pk: 1, alice.pk: 1}
    key = keys.leaderboard("likes", "week", boards.bucket_for("week", monday_morning).name)
    assert state().expiretime(key) == int((monday + dt.timedelta(weeks=3)).timestamp())


def test_an_event_for_an_expired_bucket_writes_no_key(make_user, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user()
    long_ago = timezone.now() - dt.timedelta(days=30)
    match = make_match(alice, bob, ended_at=long_ago, seconds=90)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_talk_time(match=match)
    assert board("talk_time", "day", long_ago) == {}
    assert board("talk_time", "week", long_ago) == {}
    assert board("talk_time", "all", long_ago) == {alice.pk: 90, bob.pk: 90}


# --- Guests --------------------------------------------------------------------------------


def test_guests_like_and_are_liked_but_are_never_ranked(
    make_user, identity_of, django_capture_on_commit_callbacks
):
    alice = make_user()
    visitor = guest()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        # A guest likes an account: it counts for the account.
        assert services.like_partner(match_id=match_id(), liker=visitor, liked_id=f"u{alice.pk}", now=now)
        # An account likes a guest: recorded, never ranked.
        assert services.like_partner(
            match_id=match_id(), liker=identity_of(alice), liked_id=visitor.id, now=now
        )
    assert board("likes", "all", now) == {alice.pk: 1}
    guest_like = Like.objects.get(liked_identity=visitor.id)
    assert guest_like.liked_user is None and guest_like.liker_user == alice
    assert Like.objects.get(liker_identity=visitor.id).liker_user is None


def test_talk_time_counts_whole_seconds_for_registered_participants_only(
    make_user, django_capture_on_commit_callbacks
):
    alice, bob = make_user(), make_user()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.record_talk_time(match=make_match(alice, bob, ended_at=now, seconds=61.9))
        with_guest = make_match(alice, None, ended_at=now, seconds=30.2, b_identity=guest().id)
        services.record_talk_time(match=with_guest)
        services.record_talk_time(match=make_match(alice, bob, ended_at=now, seconds=0.4))
    for period in boards.PERIODS:
        assert board("talk_time", period, now) == {alice.pk: 91, bob.pk: 61}


def test_talk_time_waits_for_the_commit(make_user, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.record_talk_time(match=make_match(alice, bob, ended_at=now, seconds=10))
        assert board("talk_time", "all", now) == {}
    assert len(callbacks) == 1


# --- Removal -------------------------------------------------------------------------------


def _fill_every_board(users, identity_of, capture) -> dt.datetime:
    now = timezone.now()
    a, b = users
    with capture(execute=True):
        services.like_partner(match_id=match_id(), liker=identity_of(a), liked_id=f"u{b.pk}", now=now)
        services.like_partner(match_id=match_id(), liker=identity_of(b), liked_id=f"u{a.pk}", now=now)
        services.record_talk_time(match=make_match(a, b, ended_at=now, seconds=120), now=now)
    return now


def test_banned_user_leaves_every_board_and_is_not_readded(
    make_user, identity_of, django_capture_on_commit_callbacks
):
    alice, bob = make_user(), make_user()
    now = _fill_every_board((alice, bob), identity_of, django_capture_on_commit_callbacks)
    ban(bob.pk, now + dt.timedelta(days=7))
    removed = services.remove_user(user_id=bob.pk, now=now)
    assert removed == 6  # 2 boards x 3 periods
    for name in boards.BOARDS:
        for period in boards.PERIODS:
            assert board(name, period, now) == {alice.pk: 1 if name == "likes" else 120}
    # Later likes are still recorded in Postgres, but a banned user stays off the boards.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.like_partner(
            match_id=match_id(), liker=identity_of(alice), liked_id=f"u{bob.pk}", now=now
        )
        services.record_talk_time(match=make_match(alice, bob, ended_at=now, seconds=60), now=now)
    assert bob.pk not in board("likes", "all", now)
    assert board("talk_time", "all", now) == {alice.pk: 180}
    assert Profile.objects.get(user=bob).likes_received == 2


def test_an_expired_ban_does_not_keep_a_user_off(make_user, identity_of, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user()
    now = timezone.now()
    ban(bob.pk, now - SECOND)
    with django_capture_on_commit_callbacks(execute=True):
        services.like_partner(match_id=match_id(), liker=identity_of(alice), liked_id=f"u{bob.pk}", now=now)
    assert board("likes", "all", now) == {bob.pk: 1}


def test_inactive_accounts_are_not_ranked(make_user, identity_of, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user(is_active=False)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.like_partner(match_id=match_id(), liker=identity_of(alice), liked_id=f"u{bob.pk}", now=now)
    assert board("likes", "all", now) == {}


def test_deleted_account_leaves_every_board(make_user, identity_of, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user()
    now = _fill_every_board((alice, bob), identity_of, django_capture_on_commit_callbacks)
    bob_id = bob.pk
    with django_capture_on_commit_callbacks(execute=True):
        get_user_model().objects.filter(pk=bob_id).delete()
    for name in boards.BOARDS:
        for period in boards.PERIODS:
            assert bob_id not in board(name, period, now)
            assert alice.pk in board(name, period, now)
    # The like history of the other side stays, with the account cleared.
    assert Like.objects.filter(liked_identity=f"u{bob_id}").get().liked_user is None


# --- Karma ---------------------------------------------------------------------------------


def test_a_like_recomputes_the_liked_users_karma(make_user, identity_of, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user()
    joined = timezone.now() - dt.timedelta(days=20)
    get_user_model().objects.filter(pk=bob.pk).update(date_joined=joined)
    with django_capture_on_commit_callbacks(execute=True):
        services.like_partner(match_id=match_id(), liker=identity_of(alice), liked_id=f"u{bob.pk}")
        services.like_partner(match_id=match_id(), liker=identity_of(alice), liked_id=f"u{bob.pk}")
    assert Profile.objects.get(user=bob).karma == pytest.approx(2 + 0.1 * 20)


def test_update_karma_takes_upheld_reports_from_moderation(make_user):
    bob = make_user()
    Profile.objects.filter(user=bob).update(likes_received=30)
    assert services.update_karma(user_id=bob.pk, upheld_reports=2, now=bob.date_joined) == pytest.approx(
        30 - 50
    )
    assert Profile.objects.get(user=bob).karma == pytest.approx(-20)


def test_nightly_karma_pass_updates_only_what_changed(make_user):
    users = [make_user() for _ in range(5)]
    now = timezone.now()
    get_user_model().objects.filter(pk__in=[u.pk for u in users]).update(
        date_joined=now - dt.timedelta(days=400)
    )
    Profile.objects.filter(user=users[0]).update(likes_received=7)
    assert services.recompute_all_karma(now=now, batch_size=2) == 5
    karma = dict(Profile.objects.values_list("user_id", "karma"))
    assert karma[users[0].pk] == pytest.approx(7 + 36.5)
    assert karma[users[1].pk] == pytest.approx(36.5)
    assert services.recompute_all_karma(now=now) == 0
