"""Ban evasion and lost ban mirrors (issue "Safety, second round", D3 and D4).

A ban covers the identity, the network it used (a keyed hash) and new guests and accounts from
that network, checked when a socket connects and on every join; and a state Redis that came
back empty never means "not banned".
"""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.utils import timezone

from matching.tests.wsutil import communicator, expect, expect_close, open_socket, recv, send
from moderation import services
from moderation.models import Ban
from moderation.tests.helpers import guest_identity, make_user
from seendr import keys, networks
from seendr.identity import GUEST_SESSION_KEY, for_user
from seendr.redis_state import state

pytestmark = pytest.mark.django_db(transaction=True)

TROLL_IP = "198.51.100.23"
PASSWORD = "pw-123456!x"


def guest_cookie(client, identity) -> str:
    session = client.session
    session[GUEST_SESSION_KEY] = identity.id
    session.save()
    return session.session_key


def socket_from(session_key: str, ip: str):
    comm = communicator(session_key)
    comm.scope["client"] = [ip, 40000]
    return comm


async def refused(comm) -> dict:
    await comm.connect()
    frame = await recv(comm)
    assert frame["type"] == "error" and frame["code"] == "banned", frame
    assert await expect_close(comm) == 4403
    await comm.disconnect()
    return frame


# --- D3 (a): a guest made on the network before the ban ------------------------------------


async def test_a_guest_made_before_the_ban_on_the_same_network_cannot_connect_or_join(client):
    troll = await sync_to_async(guest_identity)(ip=TROLL_IP)
    sibling = await sync_to_async(guest_identity)(ip=TROLL_IP)  # made before the ban
    sibling_key = await sync_to_async(guest_cookie)(client, sibling)
    open_before = socket_from(sibling_key, TROLL_IP)
    assert (await open_before.connect())[0]
    await expect(open_before, "hello")

    await sync_to_async(services.ban)(identity_id=troll.id, until=None, reason="spam")

    # The socket that was already open cannot join the pool any more...
    await send(open_before, {"type": "join", "interests": ["chess"]})
    frame = await recv(open_before)
    assert frame["type"] == "error" and frame["code"] == "banned", frame
    assert await expect_close(open_before) == 4403
    await open_before.disconnect()
    # ...and a new socket of that guest is refused at connect.
    await refused(socket_from(sibling_key, TROLL_IP))


# --- D3 (b): sign-up from a banned network --------------------------------------------------


def test_sign_up_from_a_banned_network_is_refused(client, django_capture_on_commit_callbacks):
    troll = guest_identity(ip=TROLL_IP)
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=troll.id, until=timezone.now() + dt.timedelta(days=7), reason="spam")
    form = {
        "username": "fresh",
        "email": "fresh@example.com",
        "birth_date": "1990-01-01",
        "password1": "a-Long-pass-123",
        "password2": "a-Long-pass-123",
    }
    response = client.post("/accounts/signup/", form, REMOTE_ADDR=TROLL_IP)
    assert response.status_code == 403
    assert "suspended" in response.content.decode()
    assert not get_user_model().objects.filter(username="fresh").exists()
    # Another network signs up as usual.
    assert client.post("/accounts/signup/", form, REMOTE_ADDR="198.51.100.99").status_code == 302


# --- D3 (c): an account ban reaches the network it used --------------------------------------


def test_an_account_ban_stores_the_network_and_stops_guests_from_it(
    client, django_capture_on_commit_callbacks
):
    bob = make_user("bob")
    assert (
        client.post(
            "/accounts/login/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR=TROLL_IP
        ).status_code
        == 302
    )
    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        row = services.ban(identity_id=f"u{bob.pk}", until=None, reason="harassment")
    assert row.ip_hash == networks.hash_ip(TROLL_IP)
    # Bob cannot carry on as a guest from the same network.
    response = client.post("/guest/", {"adult": "on"}, REMOTE_ADDR=TROLL_IP)
    assert response.status_code == 403 and GUEST_SESSION_KEY not in client.session


async def test_an_account_created_during_the_ban_cannot_connect_from_the_network():
    troll = await sync_to_async(guest_identity)(ip=TROLL_IP)
    await sync_to_async(services.ban)(identity_id=troll.id, until=None, reason="spam")
    from matching.tests.wsutil import user_session

    _, key = await user_session("newcomer")  # signed up elsewhere after the ban
    await refused(socket_from(key, TROLL_IP))
    # From another network the same account is welcome.
    ok = socket_from(key, "198.51.100.99")
    assert (await ok.connect())[0]
    await expect(ok, "hello")
    await ok.disconnect()


async def test_an_account_older_than_the_network_ban_still_connects_from_it():
    """A shared address (a household, a campus NAT): people who had accounts before the ban are
    not collateral; the banned person's own identity is refused everywhere."""
    from matching.tests.wsutil import user_session

    _, key = await user_session("neighbour")
    troll = await sync_to_async(guest_identity)(ip=TROLL_IP)
    await sync_to_async(services.ban)(identity_id=troll.id, until=None, reason="spam")
    comm = socket_from(key, TROLL_IP)
    assert (await comm.connect())[0]
    await expect(comm, "hello")
    # The matcher sees the network's ban and cannot tell an older account from a newer one:
    # Postgres decides, and the join goes on.
    await send(comm, {"type": "join", "interests": ["chess"]})
    assert (await expect(comm, "queued"))["stage"] == "interest"
    await comm.disconnect()


async def test_a_join_while_the_ban_mirror_is_not_ready_asks_postgres_and_restores_it(client):
    """The matcher answers for bans only while the mirror vouches for itself: without its
    marker, Postgres decides (a guest of a banned network is still refused) and the mirror is
    rebuilt on the way."""
    troll = await sync_to_async(guest_identity)(ip=TROLL_IP)
    sibling = await sync_to_async(guest_identity)(ip=TROLL_IP)
    passer_by = await sync_to_async(guest_identity)(ip="198.51.100.99")
    sockets = {}
    for who, ip in ((sibling, TROLL_IP), (passer_by, "198.51.100.99")):
        sockets[who.id] = socket_from(await sync_to_async(guest_cookie)(client, who), ip)
        assert (await sockets[who.id].connect())[0]
        await expect(sockets[who.id], "hello")
    await sync_to_async(services.ban)(identity_id=troll.id, until=None, reason="spam")
    await sync_to_async(forget_every_ban_in_redis)()

    await send(sockets[passer_by.id], {"type": "join", "interests": ["chess"]})
    await expect(sockets[passer_by.id], "queued")
    assert state().exists(keys.ban_mirror_ready())
    state().delete(keys.ban_mirror_ready())
    await send(sockets[sibling.id], {"type": "join", "interests": ["chess"]})
    frame = await recv(sockets[sibling.id])
    assert frame["type"] == "error" and frame["code"] == "banned", frame
    assert await expect_close(sockets[sibling.id]) == 4403
    for comm in sockets.values():
        await comm.disconnect()


# --- D4: the state Redis came back empty ----------------------------------------------------


def forget_every_ban_in_redis() -> None:
    """An empty restart of the state Redis, for this run's keys: every one of them is gone."""
    client = state()
    for key in list(client.scan_iter(match=keys.prefix() + "*", count=1000)):
        client.unlink(key)


def test_a_banned_account_stays_out_after_the_state_redis_lost_the_ban_set(
    client, django_capture_on_commit_callbacks
):
    bob = make_user("bob")
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=f"u{bob.pk}", until=None, reason="harassment")
    forget_every_ban_in_redis()
    client.force_login(bob)
    response = client.get("/chat/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    # The first check rebuilt the mirror from Postgres at once.
    assert state().zscore(keys.banned(), f"u{bob.pk}") is not None
    assert state().exists(keys.ban_mirror_ready())


async def test_a_banned_socket_is_refused_after_the_state_redis_lost_the_ban_set():
    from matching.tests.wsutil import user_session

    user, key = await user_session("bob")
    await sync_to_async(services.ban)(identity_id=f"u{user.pk}", until=None, reason="harassment")
    await sync_to_async(forget_every_ban_in_redis)()
    await refused(communicator(key))
    # Somebody else still gets in.
    _, other = await user_session("alice")
    comm, _ = await open_socket(other)
    await comm.disconnect()


def test_a_ban_made_while_the_set_was_lost_does_not_hide_the_others(django_capture_on_commit_callbacks):
    """One new member must not make a lost set look complete."""
    bob, carol = make_user("bob"), make_user("carol")
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=f"u{bob.pk}", until=None, reason="spam")
    forget_every_ban_in_redis()
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=f"u{carol.pk}", until=None, reason="spam")
    from moderation import selectors

    assert selectors.is_banned(identity_id=f"u{bob.pk}")
    assert Ban.objects.count() == 2
    assert for_user(bob).id == f"u{bob.pk}"
