"""ChatSession without a socket: the state machine and every recovery rule, on the real pool and
the real Channels layer. A recording transport stands in for the WebSocket; ``pump`` delivers a
channel-layer message to the session exactly as the consumer does."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model

from matching import services
from matching.session import CLOSE_FORBIDDEN, CLOSE_REPLACED, IDLE, MATCHED, WAITING, ChatSession
from matching.types import FrameError, Preferences
from profiles import services as profile_services
from seendr import identity as identities
from seendr import keys
from seendr.identity import Identity
from seendr.redis_state import astate


class Recorder:
    """The transport: keeps every frame and the close code."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        self.channel_layer = get_channel_layer()
        self.frames: list[dict] = []
        self.closed_with: int | None = None

    async def send_frame(self, frame: dict) -> None:
        self.frames.append(frame)

    async def close_socket(self, code: int, reason: str) -> None:
        self.closed_with = code

    def of_type(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == kind]


@pytest.fixture
async def sessions():
    made: list[ChatSession] = []

    async def make(
        name: str,
        *,
        country: str = "",
        identity_id: str | None = None,
        identity: Identity | None = None,
        language: str = "en",
    ) -> ChatSession:
        layer = get_channel_layer()
        transport = Recorder(await layer.new_channel())
        ident = identity or Identity(
            id=identity_id or f"g{name}{uuid.uuid4().hex[:10]}", name=name, guest=True
        )
        card = {"name": name, "guest": ident.guest, "country": country, "interests": ["chess"], "likes": 3}
        session = ChatSession(identity=ident, transport=transport, card=card, language=language)
        await session.start(now=time.time())
        made.append(session)
        return session

    yield make
    for session in made:
        await session.stop()
    await astate().aclose()


def frames(session: ChatSession) -> Recorder:
    return session.transport  # type: ignore[return-value]


async def pump(session: ChatSession, timeout: float = 3.0) -> dict:
    """Deliver the next channel-layer message for this session, as the consumer would."""
    message = await asyncio.wait_for(session.channel_layer.receive(session.channel_name), timeout)
    handlers = {
        "match.found": session.match_found,
        "partner.left": session.partner_left,
        "identity.replaced": session.identity_replaced,
        "identity.banned": session.identity_banned,
    }
    await handlers[message["type"]](message)
    return message


def chess(lang: str | None = None) -> Preferences:
    return Preferences(interests=("chess",), lang=lang)


async def matched_pair(make) -> tuple[ChatSession, ChatSession]:
    a, b = await make("Ann"), await make("Bob")
    await a.join(chess())
    await b.join(chess())
    await pump(a)
    assert a.state == b.state == MATCHED
    return a, b


# --- The state machine ----------------------------------------------------------------------


async def test_join_queues_with_the_stage_and_pool_size_then_both_sides_match_with_cards(sessions):
    a = await sessions("Ann", country="DE")
    assert frames(a).of_type("hello")[0]["you"]["name"] == "Ann"
    await a.join(chess("en"))
    assert a.state == WAITING
    queued = frames(a).of_type("queued")
    assert queued == [{"type": "queued", "stage": "interest", "waiting": queued[0]["waiting"]}]
    assert queued[0]["waiting"] >= 1

    b = await sessions("Bob")
    await b.join(chess())  # any language: a wildcard at the interest stage
    message = await pump(a)
    assert message["type"] == "match.found"
    mine, theirs = frames(b).of_type("matched")[0], frames(a).of_type("matched")[0]
    assert mine["match_id"] == theirs["match_id"]
    assert (mine["initiator"], theirs["initiator"]) == (True, False)
    # Each side sees the other's card as it was put in the ticket: no profile look-up per pair.
    assert mine["partner"] == {
        "name": "Ann",
        "guest": True,
        "country": "DE",
        "interests": ["chess"],
        "likes": 3,
        "username": "",
        "verified": False,
    }
    assert theirs["partner"]["name"] == "Bob"
    assert mine["common_interests"] == theirs["common_interests"] == ["chess"]
    assert a.match.partner_id == b.identity.id and b.match.partner_channel == a.channel_name


async def test_join_while_matched_and_next_before_join_are_refused(sessions):
    a, _ = await matched_pair(sessions)
    with pytest.raises(FrameError) as info:
        await a.join(chess())
    assert info.value.code == "already_matched"
    c = await sessions("Cat")
    with pytest.raises(FrameError) as info:
        await c.next()
    assert info.value.code == "not_in_pool"
    with pytest.raises(FrameError) as info:
        await c.signal({"sdp": "x"})
    assert info.value.code == "not_matched"


async def test_next_ends_the_match_for_the_partner_and_joins_again(sessions):
    a, b = await matched_pair(sessions)
    match_id = a.match.match_id
    await a.next()
    assert a.state == WAITING and a.last_match.match_id == match_id
    message = await pump(b)
    assert message == {"type": "partner.left", "match_id": match_id, "reason": "next"}
    assert b.state == IDLE and frames(b).of_type("partner_left") == [
        {"type": "partner_left", "reason": "next"}
    ]
    assert frames(a).of_type("queued")[-1]["stage"] == "interest"


async def test_leave_while_waiting_and_while_matched(sessions):
    a = await sessions("Ann")
    await a.join(chess())
    await a.leave()
    assert a.state == IDLE and frames(a).frames[-1] == {"type": "left"}
    assert not await astate().exists(keys.ticket(a.identity.id))
    a, b = await matched_pair(sessions)
    await b.leave()
    assert (await pump(a))["reason"] == "leave" and a.state == IDLE


async def test_the_client_hears_each_widening_stage_once(sessions, settings):
    settings.MATCH_INTEREST_SECONDS = 0.3
    settings.MATCH_ANYONE_SECONDS = 0.6
    settings.CHAT_RETRY_SECONDS = 0.2
    a = await sessions("Ann")
    await a.join(Preferences(interests=("zither",), lang="en"))
    await asyncio.sleep(1.3)
    stages = [f["stage"] for f in frames(a).of_type("queued")]
    assert stages == ["interest", "language", "anyone"]
    assert a.state == WAITING


# --- Recovery rules -------------------------------------------------------------------------


async def test_paired_while_its_retry_runs_takes_up_the_match_once(sessions, settings):
    settings.MATCH_INTEREST_SECONDS = 0.2
    a = await sessions("Ann")
    await a.join(chess())
    b = await sessions("Bob")
    await b.join(chess())
    # Before "match.found" reaches it, A's own wait loop re-runs the matcher and finds the match.
    await asyncio.sleep(0.4)
    assert a.state == MATCHED and len(frames(a).of_type("matched")) == 1
    await pump(a)  # the late announcement changes nothing
    assert len(frames(a).of_type("matched")) == 1
    assert frames(a).of_type("matched")[0]["match_id"] == b.match.match_id


async def test_an_older_sockets_match_is_ended_before_the_new_socket_joins(sessions):
    a, b = await matched_pair(sessions)
    old_match = a.match.match_id
    # A second socket of A's identity (another tab) joins without knowing that match.
    a2 = await sessions("Ann", identity_id=a.identity.id)
    message = await pump(b)
    assert message["match_id"] == old_match and message["reason"] == "disconnect"
    await a2.join(chess())
    assert a2.state == WAITING


async def test_a_lapsed_ticket_is_renewed_by_the_next_retry(sessions, settings):
    settings.MATCH_INTEREST_SECONDS = 0.2
    a = await sessions("Ann")
    await a.join(Preferences(interests=("oboe",)))
    await astate().delete(keys.ticket(a.identity.id))  # a stall longer than the ticket TTL
    await asyncio.sleep(0.5)
    assert a.state == WAITING and await astate().exists(keys.ticket(a.identity.id))


async def test_a_lapsed_ticket_of_a_replaced_socket_closes_it_4409(sessions, settings):
    settings.MATCH_INTEREST_SECONDS = 0.2
    a = await sessions("Ann")
    await a.join(Preferences(interests=("oboe",)))
    await astate().delete(keys.ticket(a.identity.id))
    await services.claim_socket(identity_id=a.identity.id, channel_name="a-newer-socket")
    await asyncio.sleep(0.5)
    assert frames(a).closed_with == CLOSE_REPLACED and a.replaced


async def test_leaving_just_as_the_match_formed_ends_it_for_the_partner(sessions):
    a = await sessions("Ann")
    await a.join(chess())
    b = await sessions("Bob")
    await b.join(chess())  # B pairs A; A has not heard of it yet
    await a.leave()
    assert (await pump(b))["reason"] == "leave" and b.state == IDLE
    assert (await pump(a))["type"] == "match.found"  # arrives late, and is dropped
    assert a.state == IDLE and not frames(a).of_type("matched")


async def test_banned_at_join_is_told_and_closed_4403(sessions):
    a = await sessions("Ann")
    await astate().zadd(keys.banned(), {a.identity.id: time.time() + 3600})
    await a.join(chess())
    error = frames(a).of_type("error")[0]
    assert error["code"] == "banned" and error["until"] is not None
    assert frames(a).closed_with == CLOSE_FORBIDDEN and a.state == IDLE


async def test_a_ban_message_mid_call_ends_the_match(sessions):
    a, b = await matched_pair(sessions)
    await a.identity_banned({"type": "identity.banned", "until": None, "reason": "spam"})
    assert frames(a).closed_with == CLOSE_FORBIDDEN
    assert (await pump(b))["reason"] == "banned" and b.state == IDLE


async def test_a_ban_found_by_the_wait_loop_is_worded_in_the_sessions_language(sessions, settings):
    """The wait loop runs on its own, outside any frame: it words the ban in the page's language."""
    settings.MATCH_INTEREST_SECONDS = 0.2
    a = await sessions("Ana", language="es")
    await a.join(Preferences(interests=("oboe",)))
    await astate().zadd(keys.banned(), {a.identity.id: time.time() + 3600})
    await asyncio.sleep(0.5)
    error = frames(a).of_type("error")[0]
    # The matcher knows no reason: the plain sentence, never "Banned: banned".
    assert (error["code"], error["message"], error["reason"]) == ("banned", "Esta cuenta está bloqueada.", "")
    assert frames(a).closed_with == CLOSE_FORBIDDEN


# --- Heartbeat follow-ups -------------------------------------------------------------------


async def test_heartbeat_follow_up_partner_gone_ends_the_match(sessions):
    a, b = await matched_pair(sessions)
    entry = a.beat_entry()
    assert entry.partner_id == b.identity.id and entry.match_id == a.match.match_id
    # B's server died: its socket record is gone.
    await astate().delete(keys.socket_owner(b.identity.id))
    await a.after_beat(entry, services.BeatResult(owned=True, partner_suspect=True))
    assert a.state == IDLE and frames(a).of_type("partner_left") == [
        {"type": "partner_left", "reason": "disconnect"}
    ]
    assert await services.current_match(identity_id=b.identity.id) is None


async def test_heartbeat_follow_up_not_owned_closes_4409(sessions):
    a = await sessions("Ann")
    await a.after_beat(a.beat_entry(), services.BeatResult(owned=False, partner_suspect=False))
    assert frames(a).closed_with == CLOSE_REPLACED


async def test_stop_ends_the_match_and_releases_the_socket(sessions):
    a, b = await matched_pair(sessions)
    await a.stop()
    assert (await pump(b))["reason"] == "disconnect"
    assert await services.socket_owner(identity_id=a.identity.id) is None


# --- A ringing call beside the states -------------------------------------------------------


async def pump_call(session: ChatSession, timeout: float = 3.0) -> dict:
    """Deliver the next call or match message, as the consumer would."""
    message = await asyncio.wait_for(session.channel_layer.receive(session.channel_name), timeout)
    handler = {"call.incoming": session.call_incoming, "call.ended": session.call_ended}.get(
        message["type"], session.match_found
    )
    await handler(message)
    return message


@database_sync_to_async
def two_friends() -> tuple[Identity, Identity]:
    suffix = uuid.uuid4().hex[:8]
    users = [get_user_model().objects.create_user(username=f"{n}{suffix}") for n in ("ann", "bob")]
    profile_services.befriend(user_id=users[0].pk, other_user_id=users[1].pk)
    return identities.for_user(users[0]), identities.for_user(users[1])


@pytest.mark.django_db(transaction=True)
async def test_a_caller_leaves_the_pool_and_an_answered_call_is_a_friend_match(sessions):
    ann_id, bob_id = await two_friends()
    ann = await sessions(ann_id.name, identity=ann_id)
    bob = await sessions(bob_id.name, identity=bob_id)
    await ann.join(chess())
    await bob.join(Preferences(interests=("go",)))
    assert ann.state == bob.state == WAITING

    await ann.call(bob_id.name)
    assert ann.state == IDLE and ann.line.call is not None  # a caller does not wait
    call_id = frames(ann).of_type("ringing")[0]["call_id"]
    await pump_call(bob)
    assert frames(bob).of_type("incoming_call")[0]["call_id"] == call_id
    assert bob.state == WAITING  # ringing does not take the callee out of the pool yet

    await bob.answer(call_id, True)
    await pump_call(ann)  # match.found with the full pairing and the call_id
    assert ann.state == bob.state == MATCHED and ann.line.call is None and bob.line.call is None
    ann_matched, bob_matched = frames(ann).of_type("matched")[0], frames(bob).of_type("matched")[0]
    assert ann_matched["match_id"] == bob_matched["match_id"]
    assert ann_matched["friend"] is bob_matched["friend"] is True
    assert (bob_matched["initiator"], ann_matched["initiator"]) == (True, False)
    assert ann_matched["partner"]["name"] == bob_id.name and bob_matched["partner"]["name"] == ann_id.name


@pytest.mark.django_db(transaction=True)
async def test_leaving_while_ringing_cancels_the_call_for_both(sessions):
    ann_id, bob_id = await two_friends()
    ann = await sessions(ann_id.name, identity=ann_id)
    bob = await sessions(bob_id.name, identity=bob_id)
    await ann.call(bob_id.name)
    await pump_call(bob)
    await ann.leave()
    await pump_call(bob)
    assert frames(ann).of_type("call_ended")[0]["reason"] == "cancelled"
    assert frames(bob).of_type("call_ended")[0]["reason"] == "cancelled"
    assert ann.line.call is None and bob.line.call is None
    with pytest.raises(FrameError) as refused:
        await bob.answer(frames(bob).of_type("incoming_call")[0]["call_id"], True)
    assert refused.value.code == "call_gone"
