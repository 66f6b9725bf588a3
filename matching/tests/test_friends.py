"""Becoming friends over the chat socket: mutual asks, the request window, guests, blocks."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import Client

from matching.tests.friendutil import meet, online_account
from matching.tests.wsutil import (
    expect,
    guest_session,
    nothing_for,
    open_socket,
    send,
)
from profiles import selectors
from profiles import services as profile_services
from profiles.models import Friendship

pytestmark = pytest.mark.django_db(transaction=True)


async def close(*comms) -> None:
    for comm in comms:
        await comm.disconnect()


count_friendships = database_sync_to_async(lambda: Friendship.objects.count())


async def drain(comm, settle: float = 1.0) -> list[dict]:
    """Every frame sent within ``settle`` seconds (read from the queue: a receive timeout would
    cancel the application)."""
    await asyncio.sleep(settle)
    frames = []
    while not comm.output_queue.empty():
        output = comm.output_queue.get_nowait()
        if output["type"] == "websocket.send":
            frame = json.loads(output["text"])
            if frame["type"] != "online":
                frames.append(frame)
    return frames


async def test_both_ask_during_the_match_and_both_hear_friend_added():
    ada, a = await online_account("ada")
    bob, b = await online_account("bob")
    await meet(a, b)
    await send(a, {"type": "friend"})
    assert (await expect(a, "friend_requested"))["match_id"]
    asked = await expect(b, "friend_request_received")
    assert asked["from"] == {"username": "ada", "name": "ada"}
    await nothing_for(a, 0.1)

    await send(b, {"type": "friend"})
    await expect(b, "friend_requested")
    for comm, friend in ((a, "bob"), (b, "ada")):
        added = await expect(comm, "friend_added")
        assert added["friend"] == {"username": friend, "name": friend, "online": True}
    assert await database_sync_to_async(selectors.are_friends)(user_id=ada.pk, other_user_id=bob.pk)

    # Asking again once friends: nothing new for anyone.
    await send(a, {"type": "friend"})
    await expect(a, "friend_requested")
    await nothing_for(a, 0.2)
    await nothing_for(b, 0.2)
    await close(a, b)


async def test_concurrent_asks_from_both_sides_make_one_friendship_and_one_announcement():
    _, a = await online_account("ada")
    _, b = await online_account("bob")
    await meet(a, b)
    await asyncio.gather(*(send(comm, {"type": "friend"}) for comm in (a, b, a, b, a, b)))
    for comm in (a, b):
        kinds = [frame["type"] for frame in await drain(comm)]
        assert kinds.count("friend_requested") == 3, kinds
        assert kinds.count("friend_request_received") <= 1, kinds
        assert kinds.count("friend_added") == 1, kinds
    assert await count_friendships() == 1
    await close(a, b)


async def test_asking_after_the_match_works_inside_the_window_only(settings):
    _, a = await online_account("ada")
    _, b = await online_account("bob")
    await meet(a, b)
    await send(a, {"type": "leave"})
    await expect(a, "left")
    await expect(b, "partner_left")
    await send(a, {"type": "friend"})  # just after the match: still fine
    await expect(a, "friend_requested")
    await expect(b, "friend_request_received")

    settings.FRIEND_REQUEST_WINDOW_SECONDS = 0  # the window has passed
    await send(b, {"type": "friend"})
    assert (await expect(b, "error"))["code"] == "window_closed"
    assert await count_friendships() == 0
    await close(a, b)


async def test_without_any_match_there_is_nobody_to_befriend():
    _, a = await online_account("ada")
    await send(a, {"type": "friend"})
    assert (await expect(a, "error"))["code"] == "not_matched"
    await close(a)


async def test_a_guest_is_offered_sign_up_and_the_request_carries_over_when_they_do():
    _, a = await online_account("ada")
    _, guest_key = await guest_session()
    g, _ = await open_socket(guest_key)
    await meet(a, g)
    await send(g, {"type": "friend"})
    error = await expect(g, "error")
    assert error["code"] == "needs_account" and "sign up" in error["message"].lower()
    await nothing_for(a, 0.2)  # a guest's request is shown only once it has an account behind it
    await send(a, {"type": "friend"})
    await expect(a, "friend_requested")
    await expect(g, "friend_request_received")
    assert await count_friendships() == 0

    # The guest signs up in the same browser session, within the window.
    client = Client()
    client.cookies["sessionid"] = guest_key
    response = await sync_to_async(client.post)(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "birth_date": "1990-05-01",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302, response.content[:500]
    added = await expect(a, "friend_added")
    assert added["friend"]["username"] == "newbie"
    pair = await database_sync_to_async(
        lambda: {u.username for f in Friendship.objects.all() for u in (f.user_a, f.user_b)}
    )()
    assert pair == {"ada", "newbie"}
    await close(a, g)


async def test_blocking_ends_the_friendship_and_the_request():
    ada, a = await online_account("ada")
    bob, b = await online_account("bob")
    await meet(a, b)
    await send(a, {"type": "friend"})
    await expect(a, "friend_requested")
    await expect(b, "friend_request_received")
    await send(b, {"type": "friend"})
    await expect(b, "friend_requested")
    await expect(a, "friend_added")
    await expect(b, "friend_added")
    assert await count_friendships() == 1
    await send(b, {"type": "block"})
    await expect(b, "blocked")
    await expect(a, "partner_left")
    assert await count_friendships() == 0
    # Asking again after the block changes nothing, and tells the blocked side nothing.
    await send(a, {"type": "friend"})
    await expect(a, "friend_requested")
    await nothing_for(b, 0.2)
    assert await count_friendships() == 0
    assert not await database_sync_to_async(selectors.are_friends)(user_id=ada.pk, other_user_id=bob.pk)
    await close(a, b)


async def test_friend_frames_are_rate_limited(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "friend": "2/1m"}
    _, a = await online_account("ada")
    _, b = await online_account("bob")
    await meet(a, b)
    for _ in range(2):
        await send(a, {"type": "friend"})
        await expect(a, "friend_requested")
    await send(a, {"type": "friend"})
    error = await expect(a, "error")
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1
    await close(a, b)


async def test_removing_a_friend_is_immediate_for_both_sockets():
    ada, a = await online_account("ada")
    bob, b = await online_account("bob")
    await database_sync_to_async(profile_services.befriend)(user_id=ada.pk, other_user_id=bob.pk)
    client = Client()
    await sync_to_async(client.force_login)(bob)
    response = await sync_to_async(client.delete)("/api/friends/ada/")
    assert response.status_code == 204
    assert (await expect(b, "friend_removed"))["username"] == "ada"
    assert (await expect(a, "friend_removed"))["username"] == "bob"
    assert await count_friendships() == 0
    await close(a, b)
