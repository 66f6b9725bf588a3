"""Two real people on /chat/: an account and a guest meet, see each other, text, and move on.

Everything is real: Daphne, PostgreSQL, Redis, the Channels layer, and two separate headless
Chromium processes with Chromium's fake camera and microphone. Media flows peer to peer over
loopback; signaling goes through our WebSocket.
"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, Tab, enter_as_guest, sign_in, wait_remote_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

HOOKS = [
    "local-video",
    "remote-video",
    "start",
    "next",
    "stop",
    "status",
    "interests",
    "chat-log",
    "chat-input",
    "chat-send",
    "partner",
    "common-interests",
    "like",
    "report",
    "block",
    "online-count",
]

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def account():
    """An account in the test database. Made before any browser starts (see conftest)."""
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    return user


def start_with(tab: Tab, interests: str) -> None:
    tab.hook("interests").fill(interests)
    tab.hook("start").click()


def assert_no_page_errors(*tabs: Tab) -> None:
    for tab in tabs:
        real = [e for e in tab.errors if "favicon" not in e]
        assert not real, real


def test_account_and_guest_meet_see_each_other_text_and_next(chat_server, account, browsers):
    began = time.monotonic()
    alice = browsers()  # the account
    guest = browsers()  # the guest
    sign_in(alice, chat_server.url, username="ada", password=PASSWORD)
    enter_as_guest(guest, chat_server.url)

    for tab in (alice, guest):
        expect(tab.hook("online-count")).to_have_text(re.compile(r"^[1-9]\d*$"))
    start_with(alice, "chess, jazz")
    expect(alice.hook("status")).to_contain_text("chess")  # "Looking for someone who likes chess…"
    start_with(guest, "Chess, hiking")

    # Matched on the shared interest: each sees the other's card with "chess" highlighted.
    for tab in (alice, guest):
        expect(tab.hook("common-interests")).to_contain_text("chess", timeout=20_000)
        expect(tab.hook("common-interests").locator(".tag.common")).to_have_count(1)
        expect(tab.hook("status")).to_contain_text("Connected")
    expect(guest.hook("partner")).to_contain_text("ada")
    guest_name = guest.page.evaluate("JSON.parse(document.getElementById('chat-config').textContent).me.name")
    expect(alice.hook("partner")).to_contain_text(guest_name)

    # Real media both ways over WebRTC.
    wait_remote_video_playing(alice)
    wait_remote_video_playing(guest)
    media_at = time.monotonic() - began

    # Text both ways: Enter sends, and so does the button.
    alice.hook("chat-input").fill("hello from ada <b>not bold</b>")
    alice.hook("chat-input").press("Enter")
    expect(guest.hook("chat-log")).to_contain_text("hello from ada <b>not bold</b>")
    assert guest.hook("chat-log").locator("b").count() == 0  # user text is never parsed as HTML
    guest.hook("chat-input").fill("hi ada, guest here")
    guest.hook("chat-send").click()
    expect(alice.hook("chat-log")).to_contain_text("hi ada, guest here")
    expect(alice.hook("chat-input")).to_have_value("")

    # The guest moves on; ada is told the stranger left and her call is torn down.
    guest.hook("next").click()
    expect(alice.hook("status")).to_contain_text(re.compile("left", re.I), timeout=10_000)
    expect(guest.hook("status")).to_contain_text(re.compile("looking", re.I))
    alice.page.wait_for_function(
        "() => document.querySelector('[data-testid=\"remote-video\"]').srcObject === null"
    )
    assert_no_page_errors(alice, guest)
    took = time.monotonic() - began
    assert took < 60, f"took {took:.1f}s (media flowing after {media_at:.1f}s)"


def test_refused_camera_still_allows_text_chat(chat_server, browsers):
    shy = browsers(camera=False)  # no fake-UI flag: the permission request is refused
    other = browsers()
    enter_as_guest(shy, chat_server.url)
    enter_as_guest(other, chat_server.url)

    start_with(shy, "origami")
    # A plain message instead of a black box, and the search goes on without media.
    expect(shy.page.locator(".toast")).to_contain_text(re.compile("text-only", re.I))
    expect(shy.hook("status")).to_contain_text(re.compile("looking", re.I))
    start_with(other, "origami")

    for tab in (shy, other):
        expect(tab.hook("common-interests")).to_contain_text("origami", timeout=20_000)
    # The one without a camera still sees and hears the other (receive-only call).
    wait_remote_video_playing(shy)

    shy.hook("chat-input").fill("no camera, but hi")
    shy.hook("chat-input").press("Enter")
    expect(other.hook("chat-log")).to_contain_text("no camera, but hi")
    other.hook("chat-input").fill("hi back")
    other.hook("chat-input").press("Enter")
    expect(shy.hook("chat-log")).to_contain_text("hi back")

    # Esc is Next.
    shy.page.keyboard.press("Escape")
    expect(other.hook("status")).to_contain_text(re.compile("left", re.I), timeout=10_000)
    assert_no_page_errors(shy, other)


def test_phone_layout_shows_every_hook(chat_server, browsers, tmp_path):
    phone = browsers(viewport=PHONE)
    enter_as_guest(phone, chat_server.url)
    page = phone.page
    expect(phone.hook("status")).to_contain_text(re.compile("ready", re.I))

    for hook in HOOKS:
        locator = phone.hook(hook)
        expect(locator).to_have_count(1)
        locator.scroll_into_view_if_needed()
        expect(locator).to_be_visible()
        box = locator.bounding_box()
        assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, (
            hook,
            box,
        )
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The main controls are big enough to hit with a thumb.
    for hook in ("start", "next", "stop", "chat-send"):
        assert phone.hook(hook).bounding_box()["height"] >= 36, hook
    page.evaluate("window.scrollTo(0, 0)")
    shot = page.screenshot(path=str(tmp_path / "chat-phone.png"), full_page=True)
    assert len(shot) > 10_000  # a rendered page, not a blank one
    assert_no_page_errors(phone)
