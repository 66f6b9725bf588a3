"""A ban on the HTTP side: live sessions are signed out, log-in says why and until when,
guests from a banned address cannot start, and an expired or lifted ban lets people back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from moderation import services
from moderation.models import Ban
from moderation.tests.helpers import guest_identity, make_user
from seendr.identity import GUEST_SESSION_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456!x"


@pytest.fixture
def banned_bob(django_capture_on_commit_callbacks):
    bob = make_user("bob")

    def ban(until=None, reason="harassment"):
        with django_capture_on_commit_callbacks(execute=True):
            return services.ban(identity_id=f"u{bob.pk}", until=until, reason=reason)

    return bob, ban


def test_a_live_session_is_signed_out_on_its_next_request(client, banned_bob):
    bob, ban = banned_bob
    client.force_login(bob)
    assert client.get("/profile/").status_code == 200
    ban(until=timezone.now() + dt.timedelta(days=7))
    response = client.get("/profile/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("suspended until" in m and "harassment" in m for m in shown), shown


def test_api_calls_of_a_banned_session_get_403_json(client, banned_bob):
    bob, ban = banned_bob
    client.force_login(bob)
    ban()
    response = client.get(f"/api/profiles/{bob.username}/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "banned"
    assert "permanently" in response.json()["error"]["message"]


def test_a_banned_guest_loses_its_guest_session(client, django_capture_on_commit_callbacks):
    guest = guest_identity()
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()
    assert client.get("/chat/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=guest.id, until=None, reason="spam")
    response = client.get("/chat/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert GUEST_SESSION_KEY not in client.session


def test_login_is_refused_with_the_reason_and_end(client, banned_bob):
    _bob, ban = banned_bob
    row = ban(until=timezone.now() + dt.timedelta(days=3), reason="spam links")
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert f"suspended until {row.until:%Y-%m-%d %H:%M} UTC" in html
    assert "spam links" in html
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_on_a_banned_account_reveals_nothing(client, banned_bob):
    _, ban = banned_bob
    ban()
    html = client.post("/accounts/login/", {"username": "bob", "password": "wrong"}).content.decode()
    assert "suspended" not in html


def test_login_works_again_after_expiry_or_lift(
    client, banned_bob, admin_user, django_capture_on_commit_callbacks
):
    _bob, ban = banned_bob
    row = ban(until=timezone.now() + dt.timedelta(days=3))
    # Expired: as if three days passed.
    Ban.objects.filter(pk=row.pk).update(
        created=timezone.now() - dt.timedelta(days=4), until=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    forever = ban()
    refused = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with the reason
    assert "suspended permanently" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    with django_capture_on_commit_callbacks(execute=True):
        services.lift_ban(ban_id=forever.pk, moderator=admin_user)
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_a_guest_from_a_banned_address_cannot_start(client, django_capture_on_commit_callbacks):
    troll = guest_identity(ip="127.0.0.1")  # the test client's address
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=troll.id, until=None, reason="spam")
    response = client.post("/guest/", {"adult": "on"})
    assert response.status_code == 403
    assert GUEST_SESSION_KEY not in client.session
    assert "suspended" in response.content.decode()
    other = client.post("/guest/", {"adult": "on"}, REMOTE_ADDR="127.0.0.2")
    assert other.status_code == 302
