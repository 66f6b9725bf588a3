"""The chat socket's protocol, in-process (WebsocketCommunicator) on the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.layers import get_channel_layer

from matching import pool, services
from matching.frames import MAX_FRAME_BYTES
from matching.tests.wsutil import (
    communicator,
    eventually,
    expect,
    expect_close,
    guest_session,
    matched_pair,
    nothing_for,
    open_socket,
    recv,
    second_session,
    send,
    user_session,
)
from seendr import keys
from seendr.redis_state import astate

# Guests live in Redis and their sessions are read from the cache: most tests need no database.
# Tests that touch Postgres (accounts, likes, reports) are marked.
with_db = pytest.mark.django_db(transaction=True)


async def close(*comms) -> None:
    for comm in comms:
        await comm.disconnect()


# --- Connecting -----------------------------------------------------------------------------


async def test_hello_for_a_guest(settings):
    settings.STUN_URLS = ["stun:stun.example.org:3478"]
    settings.TURN_URLS = ["turn:turn.example.org:3478"]
    settings.TURN_SECRET = "s3cret"
    guest, key = await guest_session()
    comm, hello = await open_socket(key)
    assert hello["you"] == {"id": guest.id, "name": guest.name, "guest": True}
    assert hello["online"] >= 1
    assert hello["ice_servers"][0] == {"urls": ["stun:stun.example.org:3478"]}
    turn = hello["ice_servers"][1]
    assert turn["username"].endswith(":" + guest.id) and turn["credential"]
    await close(comm)


@with_db
async def test_hello_for_an_account():
    user, key = await user_session("alice")
    comm, hello = await open_socket(key)
    assert hello["you"]["id"] == f"u{user.pk}"
    assert hello["you"]["guest"] is False
    await close(comm)


async def test_no_session_closes_4401():
    comm = communicator(None)
    connected, _ = await comm.connect()
    assert connected  # accepted first, so the browser sees our code
    assert await expect_close(comm) == 4401
    await comm.disconnect()


async def test_expired_guest_closes_4401():
    guest, key = await guest_session()
    await astate().delete(keys.guest(guest.id))
    comm = communicator(key)
    await comm.connect()
    assert await expect_close(comm) == 4401
    await comm.disconnect()


@pytest.mark.parametrize("origin", ["http://evil.example", None, "null"])
async def test_forbidden_or_missing_origin_closes_4403(origin):
    _, key = await guest_session()
    comm = communicator(key, origin=origin)
    connected, _ = await comm.connect()
    assert connected
    assert await expect_close(comm) == 4403
    await comm.disconnect()


async def test_banned_identity_is_refused_with_4403():
    guest, key = await guest_session()
    await astate().zadd(keys.banned(), {guest.id: time.time() + 3600})
    comm = communicator(key)
    await comm.connect()
    frame = await recv(comm)
    assert frame["type"] == "error" and frame["code"] == "banned" and frame["until"]
    assert await expect_close(comm) == 4403
    await comm.disconnect()


async def test_an_expired_ban_does_not_refuse():
    guest, key = await guest_session()
    await astate().zadd(keys.banned(), {guest.id: time.time() - 1})
    comm, _ = await open_socket(key)
    await close(comm)


async def test_second_socket_of_the_same_identity_wins_and_the_first_closes_4409():
    _, key = await guest_session()
    first, _ = await open_socket(key)
    second, _ = await open_socket(key)
    assert await expect_close(first) == 4409
    await first.disconnect()
    await send(second, {"type": "ping"})
    await expect(second, "pong")
    await close(second)


async def test_second_socket_ends_the_first_sockets_match():
    a, a_comm, _, b, b_comm, _ = await matched_pair()
    second = communicator(await second_session(a))  # a second tab of the same guest
    await second.connect()
    await expect(second, "hello")
    assert await expect_close(a_comm) == 4409
    assert (await expect(b_comm, "partner_left"))["reason"] == "disconnect"
    assert await pool.current_match(identity_id=b.id) is None
    await close(a_comm, second, b_comm)


# --- Matching -------------------------------------------------------------------------------


async def test_join_queues_then_both_sides_get_matched_with_initiator_flags():
    a, a_comm, a_matched, b, b_comm, b_matched = await matched_pair("chess")
    assert b_matched["initiator"] is True and a_matched["initiator"] is False
    assert a_matched["match_id"] == b_matched["match_id"]
    assert a_matched["partner"]["name"] == b.name and a_matched["partner"]["guest"] is True
    assert b_matched["partner"]["name"] == a.name
    assert set(a_matched["partner"]) == {
        "name",
        "guest",
        "country",
        "interests",
        "likes",
        "username",
        "verified",
    }
    # Guests have no public profile to link and no verified address.
    assert (a_matched["partner"]["username"], a_matched["partner"]["verified"]) == ("", False)
    assert a_matched["common_interests"] == ["chess"] == b_matched["common_interests"]
    assert isinstance(a_matched["ice_servers"], list)
    await close(a_comm, b_comm)


async def test_waiting_sockets_widen_on_their_own_and_match(settings):
    settings.MATCH_INTEREST_SECONDS = 0.3
    settings.MATCH_ANYONE_SECONDS = 0.6
    _, a_key = await guest_session()
    _, b_key = await guest_session()
    a_comm, _ = await open_socket(a_key)
    b_comm, _ = await open_socket(b_key)
    await send(a_comm, {"type": "join", "interests": ["chess"]})
    await expect(a_comm, "queued")
    await send(b_comm, {"type": "join", "interests": ["opera"]})
    await expect(b_comm, "queued")
    # No shared interest: only the wait loop's retries at the widening boundaries can pair them.
    a_matched = await expect(a_comm, "matched", timeout=5)
    b_matched = await expect(b_comm, "matched", timeout=5)
    assert a_matched["match_id"] == b_matched["match_id"]
    assert {a_matched["initiator"], b_matched["initiator"]} == {True, False}
    assert a_matched["common_interests"] == []
    await close(a_comm, b_comm)


async def test_signal_and_chat_are_relayed_only_to_the_partner():
    a, a_comm, a_matched, _b, b_comm, _ = await matched_pair()
    offer = {"sdp": "v=0...", "kind": "offer"}
    await send(b_comm, {"type": "signal", "data": offer})
    assert (await expect(a_comm, "signal"))["data"] == offer
    await send(a_comm, {"type": "signal", "data": {"candidate": "c1"}})
    assert (await expect(b_comm, "signal"))["data"] == {"candidate": "c1"}
    await send(a_comm, {"type": "chat", "text": "hi there"})
    assert (await expect(b_comm, "chat"))["text"] == "hi there"
    await nothing_for(a_comm, 0.2)  # the sender gets no echo
    lines = await astate().lrange(keys.transcript(a_matched["match_id"]), 0, -1)
    assert json.loads(lines[0])["text"] == "hi there" and json.loads(lines[0])["from"] == a.id
    assert await astate().ttl(keys.transcript(a_matched["match_id"])) > 0
    await close(a_comm, b_comm)


@with_db
async def test_a_report_hands_moderators_the_last_transcript_lines(settings):
    """docs/trust-and-safety.md: the evidence holds the last CHAT_TRANSCRIPT_LINES lines (50),
    oldest first, whoever said them."""
    from asgiref.sync import sync_to_async

    from moderation.models import Report

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ws_chat": "1000/1h"}
    kept = settings.CHAT_TRANSCRIPT_LINES
    assert kept == 50
    _, a_comm, a_matched, _, b_comm, _ = await matched_pair()
    for i in range(kept + 10):
        sender, receiver = (a_comm, b_comm) if i % 2 else (b_comm, a_comm)
        await send(sender, {"type": "chat", "text": f"line {i}"})
        assert (await expect(receiver, "chat"))["text"] == f"line {i}"
    lines = await astate().lrange(keys.transcript(a_matched["match_id"]), 0, -1)
    assert len(lines) == kept  # Redis holds no more than that while the match lives
    await send(a_comm, {"type": "report", "reason": "harassment"})
    await expect(a_comm, "reported")
    report = await sync_to_async(Report.objects.get)(match_id=a_matched["match_id"])
    texts = [line["text"] for line in report.evidence["transcript"]]
    assert texts == [f"line {i}" for i in range(10, kept + 10)]
    await close(a_comm, b_comm)


async def test_signal_without_a_match_is_not_matched():
    _, key = await guest_session()
    comm, _ = await open_socket(key)
    await send(comm, {"type": "signal", "data": {"sdp": "x"}})
    assert (await expect(comm, "error"))["code"] == "not_matched"
    await send(comm, {"type": "chat", "text": "anyone?"})
    assert (await expect(comm, "error"))["code"] == "not_matched"
    await send(comm, {"type": "next"})
    assert (await expect(comm, "error"))["code"] == "not_in_pool"
    await send(comm, {"type": "ping"})
    await expect(comm, "pong")
    await close(comm)


async def test_next_tells_the_partner_and_requeues():
    a, a_comm, _a_matched, b, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "next"})
    assert (await expect(b_comm, "partner_left"))["reason"] == "next"
    await expect(a_comm, "queued")
    assert await astate().exists(keys.ticket(a.id))
    assert await pool.current_match(identity_id=a.id) is None
    assert await pool.current_match(identity_id=b.id) is None
    # After partner_left the partner's relays are refused: the match is over.
    await send(b_comm, {"type": "signal", "data": {}})
    assert (await expect(b_comm, "error"))["code"] == "not_matched"
    await close(a_comm, b_comm)


async def test_leave_ends_the_match_and_answers_left():
    a, a_comm, _, _b, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "leave"})
    await expect(a_comm, "left")
    assert (await expect(b_comm, "partner_left"))["reason"] == "leave"
    assert not await astate().exists(keys.ticket(a.id))
    await close(a_comm, b_comm)


async def test_leave_while_waiting_removes_the_ticket():
    guest, key = await guest_session()
    comm, _ = await open_socket(key)
    await send(comm, {"type": "join", "interests": ["chess"], "lang": "en-US"})
    await expect(comm, "queued")
    assert await astate().exists(keys.ticket(guest.id))
    await send(comm, {"type": "leave"})
    await expect(comm, "left")
    assert not await astate().exists(keys.ticket(guest.id))
    await close(comm)


async def test_disconnect_tells_the_partner_and_leaves_no_ghost():
    a, a_comm, _, b, b_comm, _ = await matched_pair()
    await a_comm.disconnect()
    assert (await expect(b_comm, "partner_left"))["reason"] == "disconnect"
    assert await pool.current_match(identity_id=a.id) is None
    assert await pool.current_match(identity_id=b.id) is None
    assert await astate().zscore(keys.presence_online(), a.id) is None
    assert await astate().get(keys.socket_owner(a.id)) is None
    await close(b_comm)


async def test_disconnect_while_waiting_leaves_no_ticket():
    guest, key = await guest_session()
    comm, _ = await open_socket(key)
    await send(comm, {"type": "join", "interests": ["chess"]})
    await expect(comm, "queued")
    await comm.disconnect()
    assert not await astate().exists(keys.ticket(guest.id))
    assert not await astate().sismember(keys.pool_waiting(), guest.id)


async def test_ping_pong():
    _, key = await guest_session()
    comm, _ = await open_socket(key)
    await send(comm, {"type": "ping"})
    assert await expect(comm, "pong") == {"type": "pong"}
    await close(comm)


# --- Bad input ------------------------------------------------------------------------------

BAD_FRAMES = [
    ("x" * (MAX_FRAME_BYTES + 1), "too_large"),
    (json.dumps({"type": "chat", "text": "é" * 40_000}), "too_large"),  # > 64 KiB as UTF-8
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    ('"join"', "bad_json"),
    ("null", "bad_json"),
    (json.dumps({"type": "teleport"}), "unknown_type"),
    (json.dumps({"no": "type"}), "bad_field"),
    (json.dumps({"type": 7}), "bad_field"),
    (json.dumps({"type": "join", "interests": "chess"}), "bad_field"),
    (json.dumps({"type": "join", "interests": [1, 2]}), "bad_field"),
    (json.dumps({"type": "join", "interests": [], "lang": 5}), "bad_field"),
    (json.dumps({"type": "join", "interests": [], "lang": "klingon"}), "bad_field"),
    (json.dumps({"type": "join", "interests": [], "only_lang": "yes"}), "bad_field"),
    (json.dumps({"type": "join", "interests": [], "only_country": "Germany"}), "bad_field"),
    (json.dumps({"type": "signal", "data": "offer"}), "bad_field"),
    (json.dumps({"type": "signal"}), "bad_field"),
    (json.dumps({"type": "chat", "text": ""}), "bad_field"),
    (json.dumps({"type": "chat", "text": "   "}), "bad_field"),
    (json.dumps({"type": "chat", "text": "x" * 1001}), "bad_field"),
    (json.dumps({"type": "chat", "text": ["hi"]}), "bad_field"),
    (json.dumps({"type": "report", "reason": "rude"}), "bad_field"),
    (json.dumps({"type": "report", "reason": "spam", "note": 3}), "bad_field"),
]


async def test_every_bad_input_gets_an_error_frame_and_the_socket_stays_open():
    _, key = await guest_session()
    comm, _ = await open_socket(key)
    for text, code in BAD_FRAMES:
        await comm.send_to(text_data=text)
        frame = await expect(comm, "error")
        assert frame["code"] == code, (text[:80], frame)
        assert frame["message"]
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await expect(comm, "error"))["code"] == "bad_json"
    await send(comm, {"type": "ping"})
    await expect(comm, "pong")
    await close(comm)


async def test_bad_input_during_a_match_does_not_end_it():
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    await a_comm.send_to(text_data="{oops")
    assert (await expect(a_comm, "error"))["code"] == "bad_json"
    await send(a_comm, {"type": "chat", "text": "still here"})
    assert (await expect(b_comm, "chat"))["text"] == "still here"
    await close(a_comm, b_comm)


async def test_a_client_cannot_aim_a_relay_elsewhere():
    # Fields naming a real bystander (their identity, their live channel, their own match, their
    # identity group) are ignored: chat and signal go to the sender's partner only.
    _, a_comm, _, _, b_comm, _ = await matched_pair("chess")
    c, c_comm, cd_matched, _, d_comm, _ = await matched_pair("go")
    c_channel = await services.socket_owner(identity_id=c.id)
    assert c_channel, "the bystander's socket record should name its channel"
    aim = {
        "to": c.id,
        "channel": c_channel,
        "partner_channel": c_channel,
        "match_id": cd_matched["match_id"],
        "group": keys.identity_group(c.id),
    }
    await send(a_comm, {"type": "chat", "text": "for b only", **aim})
    assert (await expect(b_comm, "chat"))["text"] == "for b only"
    await send(a_comm, {"type": "signal", "data": {"sdp": "for b only", **aim}, **aim})
    assert (await expect(b_comm, "signal"))["data"]["sdp"] == "for b only"
    await nothing_for(c_comm, 0.3)
    await nothing_for(d_comm, 0)
    await close(a_comm, b_comm, c_comm, d_comm)


async def test_chat_flood_is_rate_limited_with_retry_after(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ws_chat": "3/10s"}
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    for i in range(3):
        await send(a_comm, {"type": "chat", "text": f"m{i}"})
        await expect(b_comm, "chat")
    await send(a_comm, {"type": "chat", "text": "one too many"})
    frame = await expect(a_comm, "error")
    assert frame["code"] == "rate_limited" and frame["retry_after"] >= 1
    await nothing_for(b_comm, 0.2)
    await close(a_comm, b_comm)


# --- Moderation messages on the identity group -----------------------------------------------


async def test_ban_message_ends_the_match_and_closes_4403():
    a, a_comm, _, b, b_comm, _ = await matched_pair()
    layer = get_channel_layer()
    await layer.group_send(
        keys.identity_group(a.id),
        {"type": "identity.banned", "until": "2030-01-01T00:00:00+00:00", "reason": "spam"},
    )
    frame = await expect(a_comm, "error")
    assert frame["code"] == "banned" and frame["until"].startswith("2030-01-01")
    assert await expect_close(a_comm) == 4403
    assert (await expect(b_comm, "partner_left"))["reason"] == "banned"
    assert await pool.current_match(identity_id=b.id) is None
    await close(a_comm, b_comm)


async def test_kick_message_closes_4403():
    guest, key = await guest_session()
    comm, _ = await open_socket(key)
    await send(comm, {"type": "join", "interests": ["chess"]})
    await expect(comm, "queued")
    await get_channel_layer().group_send(keys.identity_group(guest.id), {"type": "identity.kick"})
    assert await expect_close(comm) == 4403
    assert not await astate().exists(keys.ticket(guest.id))
    await comm.disconnect()


# --- Heartbeats -----------------------------------------------------------------------------


async def test_a_partner_whose_server_died_is_noticed_by_the_heartbeat(settings):
    settings.CHAT_HEARTBEAT_SECONDS = 0.3
    a, a_comm, _, b, b_comm, _ = await matched_pair()
    # b's server dies: its consumer stops without a word and its socket record lapses.
    b_comm.future.cancel()
    await asyncio.sleep(0.05)
    await astate().delete(keys.socket_owner(b.id))
    frame = await expect(a_comm, "partner_left", timeout=3)
    assert frame["reason"] == "disconnect"
    assert await pool.current_match(identity_id=a.id) is None
    await close(a_comm)


# --- Like, report, block --------------------------------------------------------------------


@with_db
async def test_like_once_per_match_and_the_partner_hears_it():
    _, a_comm, a_matched, _, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "like"})
    liked = await expect(a_comm, "liked")
    assert liked["match_id"] == a_matched["match_id"] and not liked.get("already")
    await expect(b_comm, "you_were_liked")
    await send(a_comm, {"type": "like"})
    assert (await expect(a_comm, "liked"))["already"] is True
    await nothing_for(b_comm, 0.3)  # told once
    await close(a_comm, b_comm)


@with_db
async def test_like_the_just_ended_partner():
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    await send(b_comm, {"type": "leave"})
    await expect(b_comm, "left")
    await expect(a_comm, "partner_left")
    await send(a_comm, {"type": "like"})
    await expect(a_comm, "liked")
    await expect(b_comm, "you_were_liked")
    await close(a_comm, b_comm)


async def test_like_report_block_without_any_partner_are_not_matched():
    _, key = await guest_session()
    comm, _ = await open_socket(key)
    for frame in ({"type": "like"}, {"type": "block"}, {"type": "report", "reason": "spam"}):
        await send(comm, frame)
        assert (await expect(comm, "error"))["code"] == "not_matched"
    await close(comm)


@with_db
async def test_block_ends_the_match_quietly_and_records_the_block():
    a, a_comm, _, b, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "block"})
    await expect(a_comm, "blocked")
    assert (await expect(b_comm, "partner_left"))["reason"] == "leave"  # not told it was a block
    assert await astate().sismember(keys.blocks(a.id), b.id)
    assert await pool.current_match(identity_id=a.id) is None
    await close(a_comm, b_comm)


@with_db
async def test_report_files_the_report_with_the_transcript_blocks_and_ends_the_match():
    from asgiref.sync import sync_to_async

    from moderation.models import Report

    a, a_comm, a_matched, b, b_comm, _ = await matched_pair()
    await send(b_comm, {"type": "chat", "text": "something nasty"})
    await expect(a_comm, "chat")
    await send(a_comm, {"type": "report", "reason": "harassment", "note": "rude"})
    await expect(a_comm, "reported")
    assert (await expect(b_comm, "partner_left"))["reason"] == "leave"
    report = await sync_to_async(Report.objects.get)(match_id=a_matched["match_id"])
    assert report.reporter_identity == a.id and report.reported_identity == b.id
    assert report.reason == "harassment" and report.note == "rude"
    assert "something nasty" in json.dumps(report.evidence)
    assert await astate().sismember(keys.blocks(a.id), b.id)
    await close(a_comm, b_comm)


async def test_many_sockets_joining_at_once_pair_up_exactly_once():
    sessions = [await guest_session() for _ in range(10)]
    comms = [(await open_socket(key))[0] for _, key in sessions]
    await asyncio.gather(*(send(comm, {"type": "join", "interests": ["chess"]}) for comm in comms))

    async def first_matched(comm):
        while True:
            frame = await recv(comm, timeout=5)
            if frame["type"] == "matched":
                return frame
            assert frame["type"] == "queued", frame

    matched = await asyncio.gather(*(first_matched(comm) for comm in comms))
    by_match: dict[str, list[dict]] = {}
    for frame in matched:
        by_match.setdefault(frame["match_id"], []).append(frame)
    assert len(by_match) == 5
    for pair in by_match.values():
        assert len(pair) == 2
        assert sorted(f["initiator"] for f in pair) == [False, True]
        assert pair[0]["partner"]["name"] != pair[1]["partner"]["name"]
    ids = {identity.id for identity, _ in sessions}
    partners = [await pool.current_match(identity_id=i) for i in ids]
    assert all(p is not None for p in partners)
    assert {p[1] for p in partners} == ids  # everyone is someone's partner, once
    await close(*comms)


async def test_a_lapsed_ticket_is_rejoined_by_the_wait_loop(settings):
    settings.MATCH_INTEREST_SECONDS = 0.2
    settings.MATCH_ANYONE_SECONDS = 0.4
    settings.CHAT_RETRY_SECONDS = 0.2
    guest, key = await guest_session()
    comm, _ = await open_socket(key)
    await send(comm, {"type": "join", "interests": ["chess"]})
    await expect(comm, "queued")
    await pool.leave_pool(identity_id=guest.id)  # as if the ticket's TTL ran out

    async def back_in_the_pool() -> bool:
        return bool(await astate().exists(keys.ticket(guest.id))) and bool(
            await astate().sismember(keys.pool_waiting(), guest.id)
        )

    await eventually(back_in_the_pool)
    await close(comm)


async def test_join_after_a_ban_was_written_is_refused_and_closed():
    guest, key = await guest_session()
    comm, _ = await open_socket(key)
    await astate().zadd(keys.banned(), {guest.id: time.time() + 60})
    await send(comm, {"type": "join", "interests": ["chess"]})
    frame = await expect(comm, "error")
    assert frame["code"] == "banned"
    assert await expect_close(comm) == 4403
    await comm.disconnect()


@with_db
async def test_accounts_see_each_others_profile_cards():
    from asgiref.sync import sync_to_async

    from profiles.models import Profile

    _, ann_key = await user_session("ann")
    bob, bob_key = await user_session("bob")
    await sync_to_async(Profile.objects.filter(user=bob).update)(
        display_name="Bobby", country="DE", email_verified=True
    )
    from profiles import services as profile_services

    await sync_to_async(profile_services.invalidate_profile)(user_id=bob.pk)
    ann_comm, _ = await open_socket(ann_key)
    bob_comm, _ = await open_socket(bob_key)
    await send(ann_comm, {"type": "join", "interests": ["go"]})
    await expect(ann_comm, "queued")
    await send(bob_comm, {"type": "join", "interests": ["go"]})
    bob_matched = await expect(bob_comm, "matched")
    ann_matched = await expect(ann_comm, "matched")
    assert ann_matched["partner"]["name"] == "Bobby"
    assert ann_matched["partner"]["country"] == "DE" and ann_matched["partner"]["guest"] is False
    assert bob_matched["partner"]["name"] == "ann"
    # The page links each account's public profile and badges a verified address.
    assert (ann_matched["partner"]["username"], ann_matched["partner"]["verified"]) == ("bob", True)
    assert (bob_matched["partner"]["username"], bob_matched["partner"]["verified"]) == ("ann", False)
    await close(ann_comm, bob_comm)
