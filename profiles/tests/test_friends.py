"""Friendships (Postgres) and pending friend requests (Redis), against the real stores."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction

from profiles import friend_requests, selectors, services
from profiles.models import Friendship
from seendr import keys
from seendr.redis_state import state

pytestmark = pytest.mark.django_db(transaction=True)


def uid(user) -> str:
    return f"u{user.pk}"


def test_one_row_per_pair_whatever_the_order(make_user):
    ada, bob = make_user(), make_user()
    first, created = services.befriend(user_id=ada.pk, other_user_id=bob.pk, match_id="m1")
    again, created_again = services.befriend(user_id=bob.pk, other_user_id=ada.pk)
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Friendship.objects.create(user_a=bob, user_b=ada)  # the reversed pair is the same pair
    with pytest.raises(IntegrityError), transaction.atomic():
        Friendship.objects.create(user_a=ada, user_b=ada)
    assert selectors.friend_user_ids(user_id=ada.pk) == [bob.pk]
    assert selectors.friend_user_ids(user_id=bob.pk) == [ada.pk]
    assert selectors.are_friends(user_id=bob.pk, other_user_id=ada.pk)


def test_concurrent_befriend_in_both_orders_makes_one_row(make_user):
    ada, bob = make_user(), make_user()
    start = threading.Barrier(8)

    def befriend(i: int) -> bool:
        try:
            start.wait()
            a, b = (ada.pk, bob.pk) if i % 2 else (bob.pk, ada.pk)
            return services.befriend(user_id=a, other_user_id=b)[1]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(befriend, range(8)))
    assert created.count(True) == 1
    assert Friendship.objects.count() == 1


def test_unfriend_ends_it_for_both(make_user):
    ada, bob = make_user(), make_user()
    services.befriend(user_id=ada.pk, other_user_id=bob.pk)
    assert services.unfriend(user_id=bob.pk, other_user_id=ada.pk) is True
    assert selectors.friend_user_ids(user_id=ada.pk) == []
    assert services.unfriend(user_id=bob.pk, other_user_id=ada.pk) is False


def test_blocking_a_friend_ends_the_friendship(make_user):
    ada, bob = make_user(), make_user()
    services.befriend(user_id=ada.pk, other_user_id=bob.pk)
    services.block(blocker_id=uid(bob), blocked_id=uid(ada))
    assert not selectors.are_friends(user_id=ada.pk, other_user_id=bob.pk)


# --- Pending requests ----------------------------------------------------------------------


def ask(user, partner, match_id="m1", expires_in=600.0, guest_id=None):
    return friend_requests.ask(
        match_id=match_id,
        asker_id=guest_id or uid(user),
        asker_user_id=None if guest_id else user.pk,
        partner_id=partner if isinstance(partner, str) else uid(partner),
        expires_at=time.time() + expires_in,
    )


def test_a_request_waits_for_the_other_side_then_makes_the_friendship(make_user):
    ada, bob = make_user(), make_user()
    assert ask(ada, bob).status == "asked"
    assert ask(ada, bob).status == "again"  # no second notification
    assert not Friendship.objects.exists()
    ttl = state().ttl(keys.friend_asks("m1"))
    assert 590 <= ttl <= 602  # the window, set when written
    result = ask(bob, ada)
    assert (result.status, result.friend_user_id) == ("mutual", ada.pk)
    assert selectors.are_friends(user_id=ada.pk, other_user_id=bob.pk)
    assert ask(ada, bob).status == "again"  # the pair was just announced: nothing new
    assert Friendship.objects.get().match_id == "m1"


def test_friends_who_meet_again_get_one_confirmation_per_match(make_user):
    ada, bob = make_user(), make_user()
    services.befriend(user_id=ada.pk, other_user_id=bob.pk)
    result = ask(ada, bob, match_id="m2")
    assert (result.status, result.friend_user_id) == ("already", bob.pk)
    assert ask(bob, ada, match_id="m2").status == "again"


def test_a_one_sided_request_expires_with_its_window(make_user):
    ada, bob = make_user(), make_user()
    assert ask(ada, bob, expires_in=0.5).status == "asked"
    time.sleep(2.1)  # EXPIREAT has one-second resolution
    assert state().exists(keys.friend_asks("m1")) == 0
    assert ask(bob, ada).status == "asked"  # ada's request is gone: no friendship
    assert not Friendship.objects.exists()


def test_closing_the_window_at_match_end_sets_the_expiry(make_user):
    ada, bob = make_user(), make_user()
    ask(ada, bob, expires_in=1800)
    friend_requests.close_window_at(match_id="m1", expires_at=time.time() + 600)
    assert 590 <= state().ttl(keys.friend_asks("m1")) <= 602


def test_many_concurrent_asks_from_both_sides_make_one_friendship_and_one_mutual(make_user):
    ada, bob = make_user(), make_user()
    start = threading.Barrier(16)

    def one(i: int) -> str:
        try:
            start.wait()
            me, other = (ada, bob) if i % 2 else (bob, ada)
            return ask(me, other).status
        finally:
            connection.close()

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(16)))
    assert statuses.count("mutual") == 1, statuses
    assert Friendship.objects.count() == 1


def test_a_blocked_pair_cannot_become_friends(make_user):
    ada, bob = make_user(), make_user()
    services.block(blocker_id=uid(bob), blocked_id=uid(ada))
    assert ask(ada, bob).status == "ignored"
    assert ask(bob, ada).status == "ignored"
    assert not Friendship.objects.exists()


def test_a_guest_request_carries_over_when_the_guest_signs_up(make_user):
    ada, newcomer = make_user(), make_user()
    guest = "g" + "ab" * 12
    assert ask(None, ada, guest_id=guest).status == "asked"
    assert ask(ada, guest).status == "asked"  # the guest has no account: nothing to befriend yet
    assert not Friendship.objects.exists()
    results = friend_requests.carry_over(guest_id=guest, user_id=newcomer.pk)
    assert [(r.status, r.friend_user_id) for r in results] == [("mutual", ada.pk)]
    assert selectors.are_friends(user_id=ada.pk, other_user_id=newcomer.pk)
    assert state().exists(keys.guest_friend_asks(guest)) == 0


def test_a_guest_request_whose_window_closed_does_not_carry_over(make_user):
    ada, newcomer = make_user(), make_user()
    guest = "g" + "cd" * 12
    ask(ada, guest)
    ask(None, ada, guest_id=guest, expires_in=0.5)
    time.sleep(2.1)
    assert friend_requests.carry_over(guest_id=guest, user_id=newcomer.pk) == []
    assert not Friendship.objects.exists()
