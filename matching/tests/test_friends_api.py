"""``GET /api/friends/``, ``DELETE /api/friends/<username>/`` and the ``/friends/`` page."""

from __future__ import annotations

import time

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import guests
from matching import friends
from profiles import selectors
from profiles import services as profile_services
from seendr import keys
from seendr.identity import GUEST_SESSION_KEY
from seendr.redis_state import state

pytestmark = pytest.mark.django_db


def account(username: str, display_name: str = ""):
    user = get_user_model().objects.create_user(username=username, password="pw-123456-long")
    if display_name:
        user.profile.display_name = display_name
        user.profile.save()
    return user


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def online(user, seconds_ago: float = 0) -> None:
    state().zadd(keys.presence_online(), {f"u{user.pk}": time.time() - seconds_ago})


def test_the_list_shows_who_is_online_and_in_a_call_online_first():
    ada = account("ada")
    bob, cyd, dee, old = account("bob", "Bobby"), account("cyd"), account("dee"), account("old")
    for friend in (bob, cyd, dee, old):
        profile_services.befriend(user_id=ada.pk, other_user_id=friend.pk)
    online(bob)
    online(cyd)
    online(old, seconds_ago=3600)  # a stale heartbeat is not "online"
    state().set(keys.current_match(f"u{cyd.pk}"), "m1", ex=60)

    response = signed_in(ada).get("/api/friends/")

    assert response.status_code == 200
    assert response.json() == {
        "friends": [
            {"username": "bob", "name": "Bobby", "online": True, "in_call": False},
            {"username": "cyd", "name": "cyd", "online": True, "in_call": True},
            {"username": "dee", "name": "dee", "online": False, "in_call": False},
            {"username": "old", "name": "old", "online": False, "in_call": False},
        ]
    }


def test_presence_of_the_whole_list_is_one_redis_round_trip(monkeypatch):
    ada = account("ada")
    for i in range(25):
        friend = account(f"f{i}")
        profile_services.befriend(user_id=ada.pk, other_user_id=friend.pk)
        online(friend)
    selectors.get_cards(user_ids=selectors.friend_user_ids(user_id=ada.pk))  # warm the profile cache
    round_trips = []
    real_execute = redis.client.Pipeline.execute
    real_command = redis.Redis.execute_command

    client = state()  # the state Redis only (the profile cache is another client)

    def count_pipeline(self, *args, **kwargs):
        if self.connection_pool is client.connection_pool:
            round_trips.append(("pipeline", len(self.command_stack)))
        return real_execute(self, *args, **kwargs)

    def count_command(self, *args, **kwargs):
        if self is client:
            round_trips.append(("command", args[0]))
        return real_command(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", count_pipeline)
    monkeypatch.setattr(type(client), "execute_command", count_command)
    result = friends.friend_list(user_id=ada.pk)
    assert len(result) == 25 and all(f["online"] for f in result)
    assert round_trips == [("pipeline", 2 + 25)]  # ZMSCORE presence, ZMSCORE banned, GET current each


def test_a_banned_or_deactivated_friend_is_hidden(django_capture_on_commit_callbacks):
    ada, bob, cyd = account("ada"), account("bob"), account("cyd")
    for friend in (bob, cyd):
        profile_services.befriend(user_id=ada.pk, other_user_id=friend.pk)
        online(friend)
    state().zadd(keys.banned(), {f"u{bob.pk}": time.time() + 3600})
    assert [f["username"] for f in signed_in(ada).get("/api/friends/").json()["friends"]] == ["cyd"]
    with django_capture_on_commit_callbacks(execute=True):
        cyd.is_active = False
        cyd.save()
        profile_services.invalidate_profile(user_id=cyd.pk)
    assert signed_in(ada).get("/api/friends/").json() == {"friends": []}


def test_only_accounts_and_only_their_own_friends():
    assert Client().get("/api/friends/").status_code == 401
    guest = guests.create_guest(ip="203.0.113.9")
    client = Client()
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()
    response = client.get("/api/friends/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "needs_account"
    ada, bob, eve = account("ada"), account("bob"), account("eve")
    profile_services.befriend(user_id=ada.pk, other_user_id=bob.pk)
    online(bob)
    # eve is nobody's friend: she sees nothing about bob, and cannot ask about anyone.
    assert signed_in(eve).get("/api/friends/").json() == {"friends": []}
    assert signed_in(eve).get("/api/friends/?username=bob").json() == {"friends": []}
    assert signed_in(eve).get("/api/friends/bob/").status_code == 405


def test_delete_ends_the_friendship_for_both_and_needs_csrf():
    ada, bob = account("ada"), account("bob")
    profile_services.befriend(user_id=ada.pk, other_user_id=bob.pk)
    strict = signed_in(ada, enforce_csrf_checks=True)
    refused = strict.delete("/api/friends/bob/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert selectors.are_friends(user_id=ada.pk, other_user_id=bob.pk)

    strict.get("/friends/")  # sets the csrftoken cookie, as the page does
    token = strict.cookies["csrftoken"].value
    response = strict.delete("/api/friends/bob/", headers={"X-CSRFToken": token})
    assert response.status_code == 204 and response.content == b""
    assert not selectors.are_friends(user_id=ada.pk, other_user_id=bob.pk)
    assert signed_in(bob).get("/api/friends/").json() == {"friends": []}
    again = strict.delete("/api/friends/bob/", headers={"X-CSRFToken": token})
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert strict.delete("/api/friends/nobody/", headers={"X-CSRFToken": token}).status_code == 404


def test_the_api_is_rate_limited(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "friends_api": "2/1m"}
    client = signed_in(account("ada"))
    assert [client.get("/api/friends/").status_code for _ in range(2)] == [200, 200]
    limited = client.get("/api/friends/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1


def test_the_page_lists_friends_with_a_call_link_for_the_online_ones():
    ada, bob = account("ada"), account("bob", "Bob <b>the</b> Builder")
    profile_services.befriend(user_id=ada.pk, other_user_id=bob.pk)
    online(bob)
    response = signed_in(ada).get("/friends/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Bob &lt;b&gt;the&lt;/b&gt; Builder" in html and "<b>the</b>" not in html
    assert 'id="friends-config"' in html and "friends_page.js" in html


def test_the_page_sends_guests_and_visitors_to_sign_up():
    response = Client().get("/friends/")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/"


def test_the_chat_page_links_to_friends_and_has_the_friend_button():
    html = signed_in(account("ada")).get("/chat/").content.decode()
    assert 'data-testid="friends-link"' in html and 'href="/friends/"' in html
    assert 'data-testid="friend"' in html
