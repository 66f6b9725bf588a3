"""Every named limit end to end: refused at the configured point, allowed again after the wait.

WebSocket limits go through the real consumer (in-process communicator, real Redis layer);
HTTP limits through the real views and middleware.

Load-proof by construction: a burst is checked against a limit whose refill interval is far
longer than any stall (``N/1h``: one token back per 3600/N s), so however slowly a loaded
machine runs the burst, no token comes back in between. Recovery after the wait is checked once
per transport with a one-token limit: the second request is refused unless the machine stalled
for the whole interval, and the test then waits at least that interval. The GCRA arithmetic
itself is tested with the time passed in (``test_ratelimit.py``).
"""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.test import override_settings

from matching.tests.wsutil import expect, matched_pair, nothing_for, recv, send

# The one-token interval of the recovery tests: longer than any stall between two requests.
RECOVERY_SECONDS = 2


def limits(**extra: str) -> dict:
    return {**settings.RATE_LIMITS, **extra}


# --- WebSocket ----------------------------------------------------------------------------

ws = pytest.mark.django_db(transaction=True)


async def refused(comm) -> dict:
    frame = await recv(comm)
    assert frame["type"] == "error" and frame["code"] == "rate_limited", frame
    assert isinstance(frame["retry_after"], int) and frame["retry_after"] >= 1
    return frame


@ws
@override_settings(RATE_LIMITS=limits(ws_chat="2/1h"))
async def test_chat_lines_per_identity():
    _, a, _, _, b, _ = await matched_pair()
    for text in ("one", "two"):
        await send(a, {"type": "chat", "text": text})
        assert (await expect(b, "chat"))["text"] == text
    await send(a, {"type": "chat", "text": "three"})
    assert (await refused(a))["retry_after"] == 1800
    await nothing_for(b, 0.2)  # the refused line never reached the partner
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(ws_chat=f"1/{RECOVERY_SECONDS}s"))
async def test_a_refused_frame_type_is_allowed_again_after_the_wait():
    _, a, _, _, b, _ = await matched_pair()
    await send(a, {"type": "chat", "text": "one"})
    assert (await expect(b, "chat"))["text"] == "one"
    await send(a, {"type": "chat", "text": "two"})
    assert (await refused(a))["retry_after"] == RECOVERY_SECONDS
    await asyncio.sleep(RECOVERY_SECONDS + 0.05)
    await send(a, {"type": "chat", "text": "three"})
    assert (await expect(b, "chat"))["text"] == "three"
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(ws_signal="3/1h"))
async def test_signal_frames_per_identity():
    _, a, _, _, b, _ = await matched_pair()
    for i in range(3):
        await send(a, {"type": "signal", "data": {"candidate": i}})
        assert (await expect(b, "signal"))["data"] == {"candidate": i}
    await send(a, {"type": "signal", "data": {"candidate": 3}})
    assert (await refused(a))["retry_after"] == 1200
    await nothing_for(b, 0.2)
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(ws_join="3/1h"))
async def test_join_and_next_per_identity():
    _, a, _, _, b, _ = await matched_pair()  # the pair's joins spent one token each
    await send(a, {"type": "next"})
    await expect(a, "queued")
    await send(a, {"type": "next"})
    await expect(a, "queued")
    await send(a, {"type": "next"})
    assert (await refused(a))["retry_after"] == 1200
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(report="1/1h"))
async def test_reports_over_the_socket():
    _, a, _, _, b, _ = await matched_pair()
    await send(a, {"type": "report", "reason": "spam"})
    await expect(a, "reported")
    await send(a, {"type": "report", "reason": "spam"})
    assert (await refused(a))["retry_after"] == 3600
    await a.disconnect()
    await b.disconnect()


# --- HTTP ---------------------------------------------------------------------------------

http = pytest.mark.django_db


def assert_429(response, *, api: bool = False) -> int:
    assert response.status_code == 429, (response.status_code, response.content[:300])
    seconds = int(response["Retry-After"])
    assert seconds >= 1
    if api:
        assert response.json()["error"]["code"] == "rate_limited"
    else:
        assert "Try again in" in response.content.decode()
    return seconds


def make_user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password="pw-123456!x"
    )


@http
@override_settings(RATE_LIMITS=limits(login_ip="3/1h"))
def test_login_per_ip(client):
    make_user("carol")
    for name in ("a", "b", "c"):
        assert client.post("/accounts/login/", {"username": name, "password": "x"}).status_code == 200
    assert assert_429(client.post("/accounts/login/", {"username": "d", "password": "x"})) == 1200
    # Even the right password waits; another address is not affected.
    assert (
        client.post("/accounts/login/", {"username": "carol", "password": "pw-123456!x"}).status_code == 429
    )
    other = client.post(
        "/accounts/login/", {"username": "carol", "password": "pw-123456!x"}, REMOTE_ADDR="10.9.9.9"
    )
    assert other.status_code == 302


@http
@override_settings(RATE_LIMITS=limits(login_ip=f"1/{RECOVERY_SECONDS}s"))
def test_a_refused_address_is_let_in_again_after_the_wait(client):
    import time

    make_user("carol")
    assert client.post("/accounts/login/", {"username": "carol", "password": "wrong"}).status_code == 200
    refused = client.post("/accounts/login/", {"username": "carol", "password": "pw-123456!x"})
    assert assert_429(refused) == RECOVERY_SECONDS
    time.sleep(RECOVERY_SECONDS + 0.05)
    ok = client.post("/accounts/login/", {"username": "carol", "password": "pw-123456!x"})
    assert ok.status_code == 302


@http
@override_settings(RATE_LIMITS=limits(login_user="2/1h", login_ip="100/1m"))
def test_login_per_username_from_many_addresses(client):
    make_user("carol")
    for i in range(2):
        client.post("/accounts/login/", {"username": "Carol", "password": "x"}, REMOTE_ADDR=f"10.0.0.{i}")
    refused = client.post("/accounts/login/", {"username": "carol", "password": "x"}, REMOTE_ADDR="10.0.0.99")
    assert assert_429(refused) == 1800
    # Even the right password waits: the attacker cannot tell a hit from a refusal.
    right = client.post(
        "/accounts/login/", {"username": "carol", "password": "pw-123456!x"}, REMOTE_ADDR="10.0.1.1"
    )
    assert right.status_code == 429
    assert client.post("/accounts/login/", {"username": "dave", "password": "x"}).status_code == 200


@http
@override_settings(RATE_LIMITS=limits(signup_ip="2/1h"))
def test_signup_per_ip(client):
    for i in range(2):
        # An incomplete form: the page again, with field errors.
        assert client.post("/accounts/signup/", {"username": f"u{i}"}).status_code == 400
    assert assert_429(client.post("/accounts/signup/", {"username": "u3"})) == 1800
    assert client.get("/accounts/signup/").status_code == 200  # reading the form is free


@http
@override_settings(RATE_LIMITS=limits(guest_ip="2/1h"))
def test_guest_creation_per_ip():
    from django.test import Client

    for _ in range(2):
        assert Client().post("/guest/", {"adult": "on"}).status_code == 302
    assert assert_429(Client().post("/guest/", {"adult": "on"})) == 1800
    assert Client(REMOTE_ADDR="10.9.9.9").post("/guest/", {"adult": "on"}).status_code == 302


@http
@override_settings(RATE_LIMITS=limits(otp_attempt="2/1h"))
def test_otp_attempts_per_account(client):
    user = make_user("otp")
    client.force_login(user)
    for code in ("000000", "111111"):
        assert client.post("/accounts/verify/", {"code": code}).status_code == 400  # a wrong code
    assert assert_429(client.post("/accounts/verify/", {"code": "222222"})) == 1800


@http
@override_settings(RATE_LIMITS=limits(password_reset_email="1/1h", password_reset_ip="100/1h"))
def test_password_reset_mails_per_address(client, django_capture_on_commit_callbacks):
    make_user("reset")
    assert client.post("/accounts/password_reset/", {"email": "reset@example.com"}).status_code == 302
    assert assert_429(client.post("/accounts/password_reset/", {"email": "RESET@example.com"})) == 3600
    assert client.post("/accounts/password_reset/", {"email": "other@example.com"}).status_code == 302


@http
@override_settings(RATE_LIMITS=limits(password_reset_ip="2/1h", password_reset_email="100/1h"))
def test_password_reset_per_ip(client):
    for i in range(2):
        assert client.post("/accounts/password_reset/", {"email": f"x{i}@example.com"}).status_code == 302
    assert_429(client.post("/accounts/password_reset/", {"email": "x9@example.com"}))


@http
@override_settings(RATE_LIMITS=limits(like="1/1h"))
def test_likes_per_identity(client):
    from moderation.tests.helpers import live_match
    from seendr.identity import for_user

    alice, bob = make_user("alice"), make_user("bob")
    match_id = live_match(for_user(alice), for_user(bob))
    client.force_login(alice)
    first = client.post(f"/api/matches/{match_id}/like/")
    assert first.status_code in (200, 201), first.content
    assert_429(client.post(f"/api/matches/{match_id}/like/"), api=True)


@http
@override_settings(RATE_LIMITS=limits(otp_resend="1/1h"))
def test_new_codes_per_account(client, django_capture_on_commit_callbacks):
    client.force_login(make_user("resend"))
    assert client.post("/accounts/verify/resend/").status_code == 302
    assert assert_429(client.post("/accounts/verify/resend/")) == 3600
