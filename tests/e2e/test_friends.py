"""Two real people become friends on /chat/, one leaves, finds the other online on /friends/ and
calls; the call is accepted and both see each other's video.

Real Daphne, PostgreSQL, Redis and Channels, and two separate headless Chromium processes with
Chromium's fake camera and microphone.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.e2e.conftest import enter_as_guest, sign_in, wait_remote_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def two_accounts():
    """Made before any browser starts (see conftest)."""
    users = get_user_model().objects
    for name in ("ada", "bob"):
        users.create_user(username=name, email=f"{name}@example.com", password=PASSWORD)


def test_meet_befriend_leave_see_online_call_and_talk(chat_server, two_accounts, browsers):
    ada, bob = browsers(), browsers()
    sign_in(ada, chat_server.url, username="ada", password=PASSWORD)
    sign_in(bob, chat_server.url, username="bob", password=PASSWORD)

    # They meet on a shared interest.
    for tab in (ada, bob):
        tab.hook("interests").fill("pottery")
        tab.hook("start").click()
    for tab in (ada, bob):
        expect(tab.hook("common-interests")).to_contain_text("pottery", timeout=20_000)
    wait_remote_video_playing(ada)
    # An account's partner card links the partner's public profile.
    expect(ada.page.locator("#partner-link")).to_have_attribute("href", "/u/bob/")
    expect(bob.page.locator("#partner-link")).to_have_attribute("href", "/u/ada/")

    # Ada asks; Bob is asked "add them back?" and does; both are friends.
    expect(ada.hook("friend")).to_be_enabled()
    ada.hook("friend").click()
    expect(ada.hook("friend")).to_have_text(re.compile("Requested"))
    prompt = bob.page.get_by_test_id("call-banner")
    expect(prompt).to_contain_text("ada wants to stay in touch")
    bob.page.get_by_test_id("friend-accept").click()
    for tab in (ada, bob):
        expect(tab.hook("friend")).to_have_text(re.compile("Friends"))

    # Ada leaves the chat for her friends page: Bob is there, online, with a Call button.
    ada.hook("friends-link").click()
    ada.page.wait_for_url(re.compile(r"/friends/$"))
    expect(bob.hook("status")).to_contain_text(re.compile("left", re.I), timeout=10_000)
    bob_row = ada.page.locator(".friend[data-username=bob]")
    expect(bob_row.get_by_test_id("friend-status")).to_have_text("Online")

    # She calls; Bob's page rings and he accepts; the call is an ordinary match with video.
    bob_row.get_by_test_id("call").click()
    ada.page.wait_for_url(re.compile(r"/chat/$"))  # the ?call= is consumed once
    expect(ada.page.get_by_test_id("call-banner")).to_contain_text("Calling bob")
    incoming = bob.page.get_by_test_id("call-banner")
    expect(incoming).to_contain_text("ada is calling you")
    bob.page.get_by_test_id("call-accept").click()
    for tab, other in ((ada, "bob"), (bob, "ada")):
        expect(tab.hook("partner")).to_contain_text(other, timeout=15_000)
        expect(tab.hook("friend")).to_have_text(re.compile("Friends"))
    wait_remote_video_playing(ada)
    wait_remote_video_playing(bob)

    for tab in (ada, bob):
        assert not tab.errors, tab.errors


def test_a_guest_asked_back_is_offered_sign_up_and_becomes_a_friend_by_signing_up(
    chat_server, two_accounts, browsers
):
    ada, guest = browsers(), browsers()
    sign_in(ada, chat_server.url, username="ada", password=PASSWORD)
    enter_as_guest(guest, chat_server.url)
    for tab in (ada, guest):
        tab.hook("interests").fill("origami")
        tab.hook("start").click()
    for tab in (ada, guest):
        expect(tab.hook("common-interests")).to_contain_text("origami", timeout=20_000)

    ada.hook("friend").click()
    expect(guest.page.get_by_test_id("call-banner")).to_contain_text("ada wants to stay in touch")
    guest.page.get_by_test_id("friend-accept").click()
    offer = guest.page.get_by_test_id("call-banner")
    expect(offer).to_contain_text(re.compile("sign up", re.I))

    # The guest signs up within the window; Ada hears at once that they are friends.
    offer.get_by_test_id("signup-offer").click()
    guest.page.wait_for_url(re.compile(r"/accounts/signup/"))
    form = guest.page.locator("form:has(input[name=password1])")
    form.locator("input[name=username]").fill("newbie")
    form.locator("input[name=email]").fill("newbie@example.com")
    form.locator("input[name=birth_date]").fill("1990-05-01")
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    form.locator("[type=submit]").click()
    guest.page.wait_for_url(re.compile(r"/accounts/verify"))
    news = ada.page.locator(".toast").filter(has_text="You and newbie are now friends")
    expect(news).to_be_visible(timeout=10_000)
    expect(ada.hook("friend")).to_have_text(re.compile("Friends"))
    assert not ada.errors, ada.errors
