"""/leaderboard/ in a real Chromium against a real Daphne: tabs switch in place, rows refresh by
themselves, and a hostile display name stays text."""

import os

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect, sync_playwright

from leaderboard import boards
from seendr import keys
from seendr.redis_state import state

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

CHROMIUM = os.environ.get("SEENDR_CHROMIUM", "/usr/bin/chromium")
PAYLOAD = "<img src=x onerror=window.__xss=1>"


def test_tabs_live_updates_and_names_rendered_as_text(daphne_server):
    User = get_user_model()
    mallory = User.objects.create_user("mallory")
    mallory.profile.display_name = PAYLOAD
    mallory.profile.save()
    alice = User.objects.create_user("alice")
    board_key = keys.leaderboard("likes", "all", "all")
    state().zadd(board_key, {boards.member(mallory.pk): 5, boards.member(alice.pk): 2})
    server = daphne_server()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server.url}/leaderboard/?board=likes&period=day")
            rows = page.get_by_test_id("leaderboard-row")
            expect(rows).to_have_count(0)

            # Switching tabs fetches the JSON API and renders without a reload.
            page.evaluate("window.__sameDocument = true")
            page.get_by_test_id("period-tab-all").click()
            expect(rows).to_have_count(2)
            expect(rows.nth(0)).to_contain_text(PAYLOAD)  # shown literally, as text
            assert page.locator("#lb-rows img").count() == 0
            assert page.evaluate("window.__xss") is None
            assert page.evaluate("window.__sameDocument") is True
            assert page.url.endswith("?board=likes&period=all")

            # A score change shows up by itself (polling), still without a reload.
            state().zadd(board_key, {boards.member(alice.pk): 9})
            expect(rows.nth(0)).to_contain_text("alice", timeout=12_000)
            expect(rows.nth(0)).to_contain_text("9")
            assert page.evaluate("window.__sameDocument") is True
            assert page.evaluate("window.__xss") is None
            assert not errors, errors
        finally:
            browser.close()
