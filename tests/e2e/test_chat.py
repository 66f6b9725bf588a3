"""Two real people on /chat/: an account and a guest meet, see each other, text, and move on.

Everything is real: Daphne, PostgreSQL, Redis, the Channels layer, and two separate headless
Chromium processes with Chromium's fake camera and microphone. Media flows peer to peer over
loopback; signaling goes through our WebSocket.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from matching.tests.chat_hooks import HOOKS
from matching.types import STAGE_LANGUAGE
from profiles import interests
from seendr import keys
from seendr.redis_state import state
from tests.e2e.conftest import PHONE, Tab, enter_as_guest, sign_in, wait_remote_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


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
        assert not tab.errors, tab.errors


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
    # Every step above waits on what the page shows; the wall time is reported, not asserted
    # (a loaded machine decides it, and the benchmarks measure the live loop's latency).
    print(f"call flow took {time.monotonic() - began:.1f}s (media flowing after {media_at:.1f}s)")


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

    # Esc is Next once the message box is left (Esc while typing only means "never mind").
    shy.page.evaluate("document.activeElement.blur()")
    shy.page.keyboard.press("Escape")
    expect(other.hook("status")).to_contain_text(re.compile("left", re.I), timeout=10_000)
    assert_no_page_errors(shy, other)


def test_phone_layout_shows_every_hook_in_a_call(chat_server, browsers, tmp_path):
    phone = browsers(viewport=PHONE)
    other = browsers()
    enter_as_guest(phone, chat_server.url)
    enter_as_guest(other, chat_server.url)
    page = phone.page
    expect(phone.hook("status")).to_contain_text(re.compile("ready", re.I))
    start_with(phone, "film")
    start_with(other, "film")
    expect(phone.hook("common-interests")).to_contain_text("film", timeout=20_000)
    wait_remote_video_playing(phone)

    for hook in HOOKS:
        locator = phone.hook(hook)
        expect(locator).to_have_count(1)
        locator.scroll_into_view_if_needed()
        expect(locator).to_be_visible()
        box = locator.bounding_box()
        inside = box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1
        assert inside, (hook, box)
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The main controls are big enough to hit with a thumb.
    for hook in ("start", "next", "stop", "chat-send", "like"):
        assert phone.hook(hook).bounding_box()["height"] >= 36, hook
    # Video and the call buttons fit on the first screen without scrolling.
    page.evaluate("window.scrollTo(0, 0)")
    for hook in ("remote-video", "next"):
        box = phone.hook(hook).bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], (hook, box)
    shot = page.screenshot(path=str(tmp_path / "chat-phone.png"), full_page=True)
    assert len(shot) > 10_000  # a rendered page, not a blank one

    phone.hook("block").click()
    phone.hook("block-confirm").click()  # Block asks first
    expect(phone.hook("status")).to_contain_text(re.compile("blocked", re.I))
    expect(other.hook("status")).to_contain_text(re.compile("left", re.I), timeout=10_000)
    assert_no_page_errors(phone, other)


def test_like_reaches_the_partner_and_report_ends_the_call(chat_server, browsers):
    a = browsers()
    b = browsers()
    enter_as_guest(a, chat_server.url)
    enter_as_guest(b, chat_server.url)
    start_with(a, "cycling")
    start_with(b, "cycling")
    expect(a.hook("common-interests")).to_contain_text("cycling", timeout=20_000)
    expect(b.hook("common-interests")).to_contain_text("cycling", timeout=20_000)

    a.hook("like").click()
    expect(a.hook("like")).to_be_disabled()
    expect(a.hook("like")).to_have_text(re.compile("liked", re.I))
    expect(b.page.locator(".toast")).to_contain_text(re.compile("liked you", re.I))

    b.hook("report").click()
    dialog = b.page.locator("#report-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=reason]").select_option("spam")
    dialog.locator("textarea[name=note]").fill("links to a shop")
    dialog.get_by_role("button", name=re.compile("report", re.I)).click()
    expect(dialog).to_be_hidden()
    expect(b.hook("status")).to_contain_text(re.compile("reported", re.I))
    expect(a.hook("status")).to_contain_text(re.compile("left", re.I), timeout=10_000)
    expect(b.hook("chat-input")).to_be_disabled()
    expect(b.hook("like")).to_be_disabled()  # no liking someone just reported
    assert_no_page_errors(a, b)


def test_server_restart_reconnects_and_searches_again(chat_server, browsers):
    a = browsers()
    enter_as_guest(a, chat_server.url)
    start_with(a, "sailing")
    expect(a.hook("status")).to_contain_text(re.compile("looking", re.I))

    chat_server.crash()
    # The user is told, with the wait before the next try.
    expect(a.hook("status")).to_contain_text(re.compile(r"connection lost.*reconnecting in \d+ s", re.I))
    expect(a.hook("start")).to_be_disabled()
    chat_server.start_again()
    # The page comes back by itself (backoff is capped well below this timeout) and searches again.
    expect(a.page.locator(".toast")).to_contain_text(re.compile("reconnected", re.I), timeout=20_000)
    expect(a.hook("status")).to_contain_text(re.compile("looking for someone who likes sailing", re.I))
    # Guests live in Redis, so the session survives the restart: a new partner still finds us.
    b = browsers()
    enter_as_guest(b, chat_server.url)
    start_with(b, "sailing")
    expect(a.hook("common-interests")).to_contain_text("sailing", timeout=20_000)


def test_second_tab_takes_over_and_the_first_says_so(chat_server, browsers):
    a = browsers()
    enter_as_guest(a, chat_server.url)
    expect(a.hook("status")).to_contain_text(re.compile("ready", re.I))
    second = a.context.new_page()
    second.goto(f"{chat_server.url}/chat/")
    expect(second.get_by_test_id("status")).to_contain_text(re.compile("ready", re.I))
    expect(a.hook("status")).to_contain_text(re.compile("another tab", re.I))
    expect(a.hook("start")).to_be_disabled()


def _cut_ice(tab: Tab, offers_sent: list[dict]) -> None:
    """Relay the page's chat socket through the test, dropping every ICE candidate it receives.

    With no remote candidates, no connectivity check can ever succeed: ICE fails for real.
    """

    def strip(sdp: dict) -> dict:
        lines = [line for line in sdp["sdp"].split("\r\n") if not line.startswith("a=candidate")]
        return {**sdp, "sdp": "\r\n".join(lines)}

    def handler(ws) -> None:
        server = ws.connect_to_server()

        def to_server(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "signal" and frame["data"].get("sdp", {}).get("type") == "offer":
                offers_sent.append(frame["data"]["sdp"])
            server.send(message)

        def to_page(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "signal":
                data = frame["data"]
                if "candidate" in data:
                    return
                if "sdp" in data:
                    frame["data"] = {**data, "sdp": strip(data["sdp"])}
                    message = json.dumps(frame)
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    tab.page.route_web_socket(re.compile(r"/ws/chat/$"), handler)


def test_ice_failure_restarts_once_then_says_so(chat_server, browsers):
    a = browsers()
    b = browsers()
    offers: list[dict] = []
    for tab in (a, b):
        tab.page.add_init_script("window.seendrIceTimeoutMs = 3000")
        _cut_ice(tab, offers)
        enter_as_guest(tab, chat_server.url)
    start_with(a, "knitting")
    start_with(b, "knitting")
    expect(a.hook("common-interests")).to_contain_text("knitting", timeout=20_000)

    for tab in (a, b):
        expect(tab.hook("status")).to_contain_text(re.compile("couldn't connect", re.I), timeout=15_000)
        expect(tab.page.locator("#overlay-text")).to_contain_text(re.compile("text chat still works", re.I))
    # Exactly one restart: the first offer, then one with fresh ICE credentials, then no more.
    assert len(offers) == 2, [o["sdp"][:40] for o in offers]
    ufrags = [re.search(r"a=ice-ufrag:(\S+)", o["sdp"]).group(1) for o in offers]
    assert ufrags[0] != ufrags[1]
    # Text chat still works over the socket.
    a.hook("chat-input").fill("video is broken, text is not")
    a.hook("chat-input").press("Enter")
    expect(b.hook("chat-log")).to_contain_text("video is broken, text is not")


def test_backoff_grows_with_jitter_and_interests_parse_cleanly(chat_server, browsers):
    tab = browsers()
    enter_as_guest(tab, chat_server.url)
    typed = " Chess ,  board   games,chess,, JAZZ , C++, c#, .NET!"
    result = tab.page.evaluate(
        """async (typed) => {
            const { backoffDelay } = await import('/static/js/chat/socket.js');
            const { parseInterests } = await import('/static/js/chat/ui.js');
            const rules = JSON.parse(document.getElementById('chat-config').textContent).interest;
            const runs = (attempt) => Array.from({ length: 200 }, () => backoffDelay(attempt));
            const stats = [0, 1, 2, 3, 10, 30].map((attempt) => {
                const d = runs(attempt);
                return { attempt, min: Math.min(...d), max: Math.max(...d), distinct: new Set(d).size };
            });
            return {
                stats,
                parsed: parseInterests(typed, rules),
                many: parseInterests(Array.from({ length: 15 }, (_, i) => 't' + i).join(','), rules).length,
            };
        }""",
        typed,
    )
    by_attempt = {s["attempt"]: s for s in result["stats"]}
    assert 250 <= by_attempt[0]["min"] and by_attempt[0]["max"] <= 500
    assert 500 <= by_attempt[1]["min"] and by_attempt[1]["max"] <= 1000
    assert 2000 <= by_attempt[3]["min"] and by_attempt[3]["max"] <= 4000
    for attempt in (10, 30):  # capped: a long outage is retried every 7.5-15 s, never more rarely
        assert 7500 <= by_attempt[attempt]["min"] and by_attempt[attempt]["max"] <= 15000
    assert all(s["distinct"] > 20 for s in result["stats"])  # jitter: clients do not retry in lockstep
    # The server's normaliser, applied with the rules the page serves (profiles/interests.py).
    assert result["parsed"] == ["chess", "board games", "jazz", "c++", "c#", ".net"]
    assert result["parsed"] == list(interests.normalise_many(typed))
    assert result["many"] == 10


def test_forbidden_origin_is_told_plainly_and_not_retried(chat_server, browsers):
    # Same server, but reached as "localhost": not an allowed WebSocket origin, so it closes 4403.
    tab = browsers()
    enter_as_guest(tab, f"http://localhost:{chat_server.port}")
    expect(tab.hook("status")).to_contain_text(re.compile("can't use the chat", re.I))
    expect(tab.hook("start")).to_be_disabled()
    tab.page.wait_for_timeout(1500)  # longer than the first backoff: no reconnect happens
    expect(tab.hook("status")).not_to_contain_text(re.compile("reconnecting", re.I))


def test_lost_session_sends_the_page_home(chat_server, account, browsers):
    tab = browsers()
    sign_in(tab, chat_server.url, username="ada", password=PASSWORD)
    expect(tab.hook("status")).to_contain_text(re.compile("ready", re.I))
    # Log out in a second tab (the chat socket stays up), then the server restarts: the
    # reconnecting socket has no session any more (4401) and the page goes to the landing page.
    other = tab.context.new_page()
    other.goto(f"{chat_server.url}/")
    other.locator("form[action='/accounts/logout/'] [type=submit]").click()
    other.wait_for_load_state()
    other.close()
    chat_server.crash()
    chat_server.start_again()
    tab.page.wait_for_url(f"{chat_server.url}/", timeout=20_000)


def test_language_picker_joins_with_lang_and_meets_a_speaker(chat_server, browsers):
    """Two guests with no interests who both pick Português meet at the language stage (the
    pool records the stage a match was made at, so no stopwatch is needed to tell)."""
    sent: list[dict] = []
    received: list[dict] = []
    tabs = [browsers(), browsers()]
    for tab in tabs:
        enter_as_guest(tab, chat_server.url)

    def watch(ws) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    tabs[0].page.on("websocket", watch)
    tabs[0].page.reload()  # the listener sees the socket the page opens now

    for tab in tabs:
        tab.page.locator("#lang").select_option("pt")
    for tab in tabs:
        start_with(tab, "")

    for tab in tabs:
        expect(tab.page.locator("#partner-info")).to_be_visible(timeout=15_000)
    (matched,) = [frame for frame in received if frame.get("type") == "matched"]
    stage = state().hget(keys.live_match(matched["match_id"]), "stage")
    assert stage == STAGE_LANGUAGE, f"matched at the {stage!r} stage, not by the shared language"
    joins = [frame for frame in sent if frame.get("type") == "join"]
    assert joins and joins[-1]["lang"] == "pt" and joins[-1]["interests"] == []
    assert_no_page_errors(*tabs)
