"""The /chat/ page: who may open it, what it hands to the browser, and that it stays CSP-clean."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts import guests
from matching.tests.chat_hooks import HOOKS
from profiles import services as profile_services
from seendr.identity import GUEST_SESSION_KEY


def _config(html: str) -> dict:
    match = re.search(r'<script id="chat-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page config (json_script) is missing"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_the_landing_page(client):
    response = client.get("/chat/")
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_guest_gets_the_page_with_every_hook(client):
    guest = guests.create_guest(ip="203.0.113.7")
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()

    response = client.get("/chat/")

    assert response.status_code == 200
    html = response.content.decode()
    for hook in HOOKS:
        assert f'data-testid="{hook}"' in html, hook
    config = _config(html)
    assert config["me"] == {"id": guest.id, "name": guest.name, "guest": True}
    assert config["wsPath"] == "/ws/chat/"
    assert config["interests"] == []


@pytest.mark.django_db
def test_expired_guest_session_is_sent_to_the_landing_page(client):
    session = client.session
    session[GUEST_SESSION_KEY] = "g" + "0" * 24  # no such guest in Redis (TTL ran out)
    session.save()
    response = client.get("/chat/")
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_account_gets_its_saved_interests_prefilled(client):
    user = get_user_model().objects.create_user(username="ada", password="pw-12345-long")
    with transaction.atomic():
        profile_services.update_profile(
            user_id=user.pk,
            display_name="Ada",
            bio="",
            country="GB",
            languages=[],
            interests=["chess", "Jazz"],
        )
    client.force_login(user)

    response = client.get("/chat/")

    assert response.status_code == 200
    html = response.content.decode()
    config = _config(html)
    assert sorted(config["interests"]) == ["chess", "jazz"]
    assert config["me"]["guest"] is False
    value = re.search(r'data-testid="interests"[^>]*value="([^"]*)"', html, re.S).group(1)
    assert sorted(t.strip() for t in value.split(",")) == ["chess", "jazz"]


@pytest.mark.django_db(transaction=True)
def test_account_gets_its_first_language_preselected(client):
    user = get_user_model().objects.create_user(username="ines", password="pw-12345-long")
    with transaction.atomic():
        profile_services.update_profile(
            user_id=user.pk, display_name="Inês", bio="", country="PT", languages=["pt", "en"], interests=[]
        )
    client.force_login(user)

    html = client.get("/chat/").content.decode()

    selected = re.findall(r'<option value="([a-z]*)" selected>', html)
    assert selected == ["pt"]


@pytest.mark.django_db
def test_guest_language_picker_defaults_to_the_page_language(client):
    guest = guests.create_guest(ip="203.0.113.10")
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()

    html = client.get("/chat/").content.decode()

    assert 'data-testid="lang"' in html
    assert re.findall(r'<option value="([a-z]*)" selected>', html) == ["en"]
    assert '<option value="">Any language</option>' in html  # still one click away


@pytest.mark.django_db
def test_page_has_no_inline_script_or_handlers(client):
    guest = guests.create_guest(ip="203.0.113.8")
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()
    html = client.get("/chat/").content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    for attrs, body in scripts:
        if 'type="application/json"' in attrs:
            continue  # json_script data is never executed
        assert "src=" in attrs and not body.strip(), f"inline script: {attrs} {body[:80]}"
    assert 'type="module"' in html and "js/chat/main.js" in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler attribute"


@pytest.mark.django_db
def test_chat_page_only_answers_get(client):
    guest = guests.create_guest(ip="203.0.113.9")
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()
    assert client.post("/chat/").status_code == 405
