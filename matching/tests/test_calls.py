"""Direct calls between friends over the chat socket, in-process on the real Redis channel layer."""

from __future__ import annotations

import asyncio

import pytest

from matching import pool
from matching.tests.friendutil import make_friends, meet, online_account
from matching.tests.wsutil import expect, guest_session, nothing_for, open_socket, recv, send, user_session
from seendr import keys
from seendr.redis_state import astate

pytestmark = pytest.mark.django_db(transaction=True)


async def close(*comms) -> None:
    for comm in comms:
        await comm.disconnect()


async def friends_online(*names: str):
    """Accounts, all befriended with the first, each with an open idle socket."""
    people = [await online_account(name) for name in names]
    for user, _ in people[1:]:
        await make_friends(people[0][0], user)
    return people


async def ring(caller, callee, username: str) -> tuple[dict, dict]:
    await send(caller, {"type": "call", "username": username})
    ringing = await expect(caller, "ringing")
    incoming = await expect(callee, "incoming_call")
    assert ringing["call_id"] == incoming["call_id"]
    return ringing, incoming


async def test_ring_then_accept_becomes_an_ordinary_match_marked_friend():
    (ada, a), (_bob, b) = await friends_online("ada", "bob")
    ringing, incoming = await ring(a, b, "bob")
    assert ringing["to"] == {"username": "bob", "name": "bob"} and ringing["expires_in"] == 30
    assert incoming["from"] == {"username": "ada", "name": "ada"}
    assert 0 < await astate().ttl(keys.call(ringing["call_id"])) <= 40  # the Redis backstop

    await send(b, {"type": "answer", "call_id": incoming["call_id"], "accept": True})
    b_matched = await expect(b, "matched")
    a_matched = await expect(a, "matched")
    assert a_matched["match_id"] == b_matched["match_id"]
    assert a_matched["friend"] is True and b_matched["friend"] is True
    assert (b_matched["initiator"], a_matched["initiator"]) == (True, False)
    assert a_matched["partner"]["name"] == "bob" and b_matched["partner"]["name"] == "ada"
    current = await pool.current_match(identity_id=f"u{ada.pk}")
    assert current is not None and current[0] == a_matched["match_id"]

    # From here it is any match: signaling, chat, like, and the partner hears a leave.
    await send(b, {"type": "signal", "data": {"type": "offer", "sdp": "v=0"}})
    assert (await expect(a, "signal"))["data"]["type"] == "offer"
    await send(a, {"type": "chat", "text": "hi friend"})
    assert (await expect(b, "chat"))["text"] == "hi friend"
    await send(a, {"type": "like"})
    await expect(a, "liked")
    await expect(b, "you_were_liked")
    await send(a, {"type": "leave"})
    await expect(a, "left")
    assert (await expect(b, "partner_left"))["reason"] == "leave"
    await close(a, b)


async def test_decline_tells_the_caller_and_blocks_re_ringing_for_a_minute():
    (_, a), (_, b) = await friends_online("ada", "bob")
    _, incoming = await ring(a, b, "bob")
    await send(b, {"type": "answer", "call_id": incoming["call_id"], "accept": False})
    assert (await expect(a, "call_ended"))["reason"] == "declined"
    assert (await expect(b, "call_ended"))["reason"] == "declined"
    await send(a, {"type": "call", "username": "bob"})
    error = await expect(a, "error")
    assert error["code"] == "rate_limited" and 1 <= error["retry_after"] <= 60
    await nothing_for(b, 0.2)  # the friend is not rung again
    await close(a, b)


async def test_an_unanswered_call_times_out_without_anyone_sending_anything(settings):
    settings.CALL_RING_SECONDS = 0.6
    (ada, a), (bob, b) = await friends_online("ada", "bob")
    _ringing, _ = await ring(a, b, "bob")
    assert (await expect(a, "call_ended"))["reason"] == "timeout"
    assert (await expect(b, "call_ended"))["reason"] == "timeout"
    # Both are free again: the lines are gone, and a new call can ring.
    assert await astate().exists(keys.call_line(f"u{ada.pk}"), keys.call_line(f"u{bob.pk}")) == 0
    await ring(a, b, "bob")
    await close(a, b)


async def test_the_callee_times_the_call_out_when_the_caller_server_is_gone(settings):
    """The caller's timer never fires (its server died); the callee's own timer ends the call."""
    settings.CALL_RING_SECONDS = 0.5
    (_, a), (bob, b) = await friends_online("ada", "bob")
    _, incoming = await ring(a, b, "bob")
    # Simulate the caller's server dying: its timer and socket are gone without a word.
    a.future.cancel()
    ended = await expect(b, "call_ended", timeout=6)
    assert ended["reason"] == "timeout" and ended["call_id"] == incoming["call_id"]
    assert await astate().exists(keys.call_line(f"u{bob.pk}")) == 0
    await close(b)


async def test_a_caller_who_leaves_cancels_the_ringing():
    (_, a), (_, b) = await friends_online("ada", "bob")
    await ring(a, b, "bob")
    await send(a, {"type": "leave"})
    assert (await expect(a, "call_ended"))["reason"] == "cancelled"
    await expect(a, "left")
    assert (await expect(b, "call_ended"))["reason"] == "cancelled"
    await close(a, b)


async def test_a_caller_who_disconnects_cancels_the_ringing():
    (_, a), (_, b) = await friends_online("ada", "bob")
    await ring(a, b, "bob")
    await a.disconnect()
    assert (await expect(b, "call_ended"))["reason"] == "cancelled"
    await close(b)


async def test_a_callee_who_goes_away_while_it_rings_makes_the_call_unavailable():
    (_, a), (_, b) = await friends_online("ada", "bob")
    await ring(a, b, "bob")
    await b.disconnect()
    assert (await expect(a, "call_ended"))["reason"] == "unavailable"
    await close(a)


async def test_busy_offline_and_non_friends_all_answer_not_available():
    (_ada, a), (_, b), (_, c) = await friends_online("ada", "bob", "cyd")
    _dan, d = await online_account("dan")  # online, but not ada's friend
    # bob is in a match with dan.
    await meet(b, d)
    await send(a, {"type": "call", "username": "bob"})
    busy = await expect(a, "error")
    assert busy["code"] == "not_available"
    # cyd goes offline.
    await c.disconnect()
    await send(a, {"type": "call", "username": "cyd"})
    offline = await expect(a, "error")
    # dan is online and idle-ish, but a stranger; "nobody" does not exist at all.
    await send(a, {"type": "call", "username": "dan"})
    stranger = await expect(a, "error")
    await send(a, {"type": "call", "username": "nobody"})
    unknown = await expect(a, "error")
    # The same answer every time: nobody learns whether a non-friend exists or is online.
    for error in (offline, stranger, unknown):
        assert (error["code"], error["message"]) == (busy["code"], busy["message"])
    await nothing_for(d, 0.2)
    await close(a, b, d)


async def test_a_friend_already_ringing_is_busy_and_two_callers_at_once_ring_once():
    (_, b), (_, a), (_, c) = await friends_online("bob", "ada", "cyd")
    await asyncio.gather(
        send(a, {"type": "call", "username": "bob"}), send(c, {"type": "call", "username": "bob"})
    )
    a_reply, c_reply = await recv(a), await recv(c)
    kinds = sorted([a_reply["type"], c_reply["type"]])
    assert kinds == ["error", "ringing"], (a_reply, c_reply)
    assert (a_reply if a_reply["type"] == "error" else c_reply)["code"] == "not_available"
    await expect(b, "incoming_call")
    await nothing_for(b, 0.2)
    await close(a, b, c)


async def test_answer_checks_the_call_id_and_guests_cannot_call():
    (_, a), (_, b) = await friends_online("ada", "bob")
    await send(b, {"type": "answer", "call_id": "0" * 32, "accept": True})
    assert (await expect(b, "error"))["code"] == "call_gone"
    await send(b, {"type": "answer", "call_id": "nope", "accept": True})
    assert (await expect(b, "error"))["code"] == "bad_field"
    await send(a, {"type": "call"})
    assert (await expect(a, "error"))["code"] == "bad_field"
    _, guest_key = await guest_session()
    g, _ = await open_socket(guest_key)
    await send(g, {"type": "call", "username": "bob"})
    assert (await expect(g, "error"))["code"] == "needs_account"
    await nothing_for(b, 0.2)
    await close(a, b, g)


async def test_calls_are_rate_limited(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "call": "2/1m"}
    (_, a), (_, b) = await friends_online("ada", "bob")
    for _ in range(2):
        await ring(a, b, "bob")
        await send(a, {"type": "leave"})
        await expect(a, "call_ended")
        await expect(a, "left")
        await expect(b, "call_ended")
    await send(a, {"type": "call", "username": "bob"})
    error = await expect(a, "error")
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1
    await nothing_for(b, 0.2)
    await close(a, b)


async def test_a_callee_waiting_in_the_pool_can_accept():
    (_, a), (bob, b) = await friends_online("ada", "bob")
    await send(b, {"type": "join", "interests": ["opera"]})
    await expect(b, "queued")
    _, incoming = await ring(a, b, "bob")
    await send(b, {"type": "answer", "call_id": incoming["call_id"], "accept": True})
    assert (await expect(b, "matched"))["friend"] is True
    assert (await expect(a, "matched"))["friend"] is True
    assert not await astate().sismember(keys.pool_waiting(), f"u{bob.pk}")  # out of the pool
    await close(a, b)


async def test_a_caller_cannot_call_from_a_match():
    (_, a), (_, b) = await friends_online("ada", "bob")
    _, stranger_key = await user_session("eve")
    e, _ = await open_socket(stranger_key)
    await meet(a, e)
    await send(a, {"type": "call", "username": "bob"})
    assert (await expect(a, "error"))["code"] == "already_matched"
    await nothing_for(b, 0.2)
    await close(a, b, e)
