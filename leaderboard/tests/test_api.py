import datetime as dt
import uuid

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts import guests
from leaderboard import boards
from leaderboard.models import Like
from leaderboard.tests.conftest import board
from matching.models import Match
from profiles.models import Profile
from seendr import keys, redis_state
from seendr.identity import GUEST_SESSION_KEY
from seendr.redis_state import state

CSRF = "a" * 32  # an unmasked CSRF secret: valid as the cookie and as the header


def put(board_name: str, period: str, scores: dict[int, int]) -> None:
    key = keys.leaderboard(board_name, period, boards.bucket_for(period, timezone.now()).name)
    state().zadd(key, {boards.member(uid): score for uid, score in scores.items()})


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def guest_client() -> tuple[Client, str]:
    client = csrf_client()
    visitor = guests.create_guest(ip="127.0.0.1")
    session = client.session
    session[GUEST_SESSION_KEY] = visitor.id
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client, visitor.id


def finished_match(a_identity: str, b_identity: str, *, user_a=None, user_b=None) -> str:
    now = timezone.now()
    match = Match.objects.create(
        id=uuid.uuid4().hex,
        identity_a=a_identity,
        identity_b=b_identity,
        user_a=user_a,
        user_b=user_b,
        started_at=now - dt.timedelta(minutes=1),
        ended_at=now,
        duration_seconds=60,
        end_reason="next",
    )
    return match.pk


def like(client: Client, match_id: str, **headers):
    return client.post(f"/api/matches/{match_id}/like/", HTTP_X_CSRFTOKEN=CSRF, **headers)


# --- GET /api/leaderboard/<board>/ ----------------------------------------------------------


def test_board_answer_has_the_documented_shape(make_user, client):
    alice = make_user("alice", display_name="Alice A.")
    bob = make_user("bob")
    put("likes", "week", {alice.pk: 3, bob.pk: 5})
    response = client.get("/api/leaderboard/likes/?period=week&limit=10")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "board": "likes",
        "period": "week",
        "entries": [
            {"rank": 1, "username": "bob", "display_name": "bob", "score": 5},
            {"rank": 2, "username": "alice", "display_name": "Alice A.", "score": 3},
        ],
        "me": None,
    }
    assert "private" in response["Cache-Control"]


def test_signed_in_caller_gets_their_rank_and_neighbours(make_user, client):
    users = [make_user(f"p{i}") for i in range(8)]
    put("talk_time", "all", {u.pk: 100 * (i + 1) for i, u in enumerate(users)})
    client.force_login(users[2])  # score 300: 6th of 8
    body = client.get("/api/leaderboard/talk_time/?period=all&limit=3").json()
    assert [e["username"] for e in body["entries"]] == ["p7", "p6", "p5"]
    me = body["me"]
    assert (me["rank"], me["username"], me["score"]) == (6, "p2", 300)
    assert [(e["rank"], e["username"]) for e in me["around"]] == [
        (4, "p4"),
        (5, "p3"),
        (6, "p2"),
        (7, "p1"),
        (8, "p0"),
    ]


def test_period_defaults_to_day(make_user, client):
    alice = make_user()
    put("likes", "day", {alice.pk: 1})
    assert client.get("/api/leaderboard/likes/").json()["period"] == "day"
    assert client.get("/api/leaderboard/likes/").json()["entries"][0]["score"] == 1


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/api/leaderboard/karma/", "unknown_board"),
        ("/api/leaderboard/likes/?period=month", "unknown_period"),
        ("/api/leaderboard/likes/?limit=0", "invalid_limit"),
        ("/api/leaderboard/likes/?limit=-5", "invalid_limit"),
        ("/api/leaderboard/likes/?limit=abc", "invalid_limit"),
        ("/api/leaderboard/likes/?limit=201", "invalid_limit"),
        ("/api/leaderboard/likes/?limit=1e3", "invalid_limit"),
    ],
)
def test_bad_parameters_are_400_json(db, client, url, code):
    response = client.get(url)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_limit_200_is_allowed_and_post_is_405_json(db, client):
    assert client.get("/api/leaderboard/likes/?limit=200").status_code == 200
    response = client.post("/api/leaderboard/likes/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unchanged_board_answers_304_to_its_etag(make_user, client):
    alice = make_user()
    put("likes", "day", {alice.pk: 2})
    first = client.get("/api/leaderboard/likes/")
    again = client.get("/api/leaderboard/likes/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    put("likes", "day", {alice.pk: 3})
    changed = client.get("/api/leaderboard/likes/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed.json()["entries"][0]["score"] == 3


def test_redis_down_is_503_json(db, client):
    redis_state.state.cache_clear()
    try:
        with override_settings(REDIS_STATE_URL="redis://127.0.0.1:1/1"):
            response = client.get("/api/leaderboard/likes/")
    finally:
        redis_state.state.cache_clear()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


# --- POST /api/matches/<id>/like/ -----------------------------------------------------------


def test_account_likes_partner_over_http_once_per_match(make_user, django_capture_on_commit_callbacks):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = finished_match(f"u{alice.pk}", f"u{bob.pk}", user_a=alice, user_b=bob)
    client = csrf_client(alice)
    with django_capture_on_commit_callbacks(execute=True):
        first = like(client, match_id)
    assert first.status_code == 200
    assert first.json() == {"type": "liked", "match_id": match_id, "created": True}
    second = like(client, match_id)
    assert second.json() == {"type": "liked", "match_id": match_id, "created": False}
    assert Like.objects.count() == 1
    assert Profile.objects.get(user=bob).likes_received == 1
    assert board("likes", "all", timezone.now()) == {bob.pk: 1}


def test_idempotency_key_replays_the_first_answer(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = finished_match(f"u{alice.pk}", f"u{bob.pk}", user_a=alice, user_b=bob)
    client = csrf_client(alice)
    first = like(client, match_id, HTTP_IDEMPOTENCY_KEY="like-123")
    replay = like(client, match_id, HTTP_IDEMPOTENCY_KEY="like-123")
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() == {"type": "liked", "match_id": match_id, "created": True}
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Like.objects.count() == 1
    # The same key for another request is refused, not replayed.
    other = finished_match(f"u{alice.pk}", f"u{bob.pk}", user_a=alice, user_b=bob)
    reused = like(client, other, HTTP_IDEMPOTENCY_KEY="like-123")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert Like.objects.count() == 1


def test_guest_can_like_an_account(make_user, django_capture_on_commit_callbacks):
    bob = make_user("bob")
    client, guest_id = guest_client()
    match_id = finished_match(guest_id, f"u{bob.pk}", user_b=bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = like(client, match_id)
    assert response.status_code == 200 and response.json()["created"] is True
    assert Like.objects.get().liker_identity == guest_id
    assert board("likes", "day", timezone.now()) == {bob.pk: 1}


def test_like_without_csrf_token_is_403_json(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = finished_match(f"u{alice.pk}", f"u{bob.pk}", user_a=alice, user_b=bob)
    client = csrf_client(alice)
    response = client.post(f"/api/matches/{match_id}/like/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert not Like.objects.exists()


def test_like_without_a_session_is_401_json(db):
    response = like(csrf_client(), uuid.uuid4().hex)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_like_of_a_match_that_is_not_yours_is_404_json(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    match_id = finished_match(f"u{alice.pk}", f"u{bob.pk}", user_a=alice, user_b=bob)
    for target in (match_id, uuid.uuid4().hex):
        response = like(csrf_client(carol), target)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "match_not_found"
    assert not Like.objects.exists()


def test_like_with_get_is_405_json(make_user, client):
    client.force_login(make_user())
    response = client.get(f"/api/matches/{uuid.uuid4().hex}/like/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db(transaction=True)
async def test_http_like_tells_the_partners_sockets(make_user):
    import asyncio

    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer
    from django.db import connections

    alice, bob = await sync_to_async(make_user)("alice"), await sync_to_async(make_user)("bob")
    match_id = await sync_to_async(finished_match)(f"u{alice.pk}", f"u{bob.pk}", user_a=alice, user_b=bob)
    layer = get_channel_layer()
    bob_socket = await layer.new_channel()
    await layer.group_add(keys.identity_group(f"u{bob.pk}"), bob_socket)
    try:
        response = await sync_to_async(lambda: like(csrf_client(alice), match_id))()
        assert response.status_code == 200
        message = await asyncio.wait_for(layer.receive(bob_socket), timeout=5)
        assert message == {"type": "partner.liked", "match_id": match_id}
    finally:
        await layer.group_discard(keys.identity_group(f"u{bob.pk}"), bob_socket)
        await sync_to_async(connections.close_all)()  # the worker thread's connection
