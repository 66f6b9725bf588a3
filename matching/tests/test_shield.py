"""The shield's server side: the chat page hands the browser its settings and our own URLs."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts import guests
from matching.shield import check_shield_settings, shield_config
from seendr.identity import GUEST_SESSION_KEY


def page_shield_config(client) -> dict:
    guest = guests.create_guest(ip="203.0.113.7")
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()
    html = client.get("/chat/").content.decode()
    found = re.search(r'<script id="shield-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the shield config (json_script) is missing"
    assert 'data-testid="shield"' in html and 'data-testid="shield-toggle"' in html
    return json.loads(found.group(1))


@pytest.mark.django_db
def test_the_chat_page_carries_the_settings_and_only_our_own_static_urls(client, settings):
    settings.NUDITY_SHIELD_WATCHED = {"Porn": 0.0, "Sexy": 0.9}
    settings.NUDITY_SHIELD_SAFE_CHECKS = 3
    config = page_shield_config(client)
    assert config["watched"] == {"Porn": 0.0, "Sexy": 0.9}
    assert config["safeChecks"] == 3
    assert config["worker"] == "/static/js/chat/shield-worker.js"
    assert config["scripts"] == [
        "/static/vendor/nsfwjs/4.4.0/mobilenet_v2/model.min.js",
        "/static/vendor/nsfwjs/4.4.0/mobilenet_v2/group1-shard1of1.min.js",
        "/static/vendor/nsfwjs/4.4.0/nsfwjs.min.js",
    ]


@pytest.mark.parametrize(
    "name, value",
    [
        ("NUDITY_SHIELD_WATCHED", {"Nude": 0.5}),
        ("NUDITY_SHIELD_WATCHED", {"Porn": 1.5}),
        ("NUDITY_SHIELD_WATCHED", {}),
        ("NUDITY_SHIELD_BACKEND", "wasm"),
    ],
)
def test_a_setting_the_shield_cannot_use_is_refused_loudly(settings, name, value):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured):
        shield_config()
    assert [error.id for error in check_shield_settings()] == ["matching.E001"]  # manage.py check fails


def test_the_default_settings_pass_the_check():
    assert check_shield_settings() == []
