"""The Live page in a real Chromium against a real Daphne: it refreshes itself without a reload."""

from __future__ import annotations

import os
import time
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

from seendr.testing.factories import make_match

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("SEENDR_CHROMIUM", "/usr/bin/chromium")


def staff_session() -> str:
    user = get_user_model().objects.create_user("livestaff", password="pw-123456789", is_staff=True)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def test_live_page_updates_itself_after_a_match(daphne_server):
    from playwright.sync_api import expect, sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (make test does)")
    session_key = staff_session()  # ORM work before Playwright starts its event loop
    server = daphne_server()
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        try:
            context = browser.new_context()
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": server.url}]
            )
            page = context.new_page()
            # Console errors, except the browser's own favicon probe (the admin has no favicon).
            page.on(
                "console",
                lambda msg: (
                    problems.append(msg.text)
                    if msg.type == "error" and "favicon" not in (msg.location or {}).get("url", "")
                    else None
                ),
            )
            page.on(
                "response",
                lambda r: (
                    problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(server.url + "/admin/live/")
            tile = page.locator('[data-live="matches_last_hour"]')
            assert tile.inner_text() == "0"
            assert page.locator('[data-live="chart"] rect').count() == 60

            make_match(waited=2.0, now=time.time())  # Redis only: safe while Playwright's loop runs

            expect(tile).to_have_text("1", timeout=15_000)  # the next poll, no reload
            assert page.locator('[data-live="in_call"]').inner_text() == "2"
            assert page.locator('[data-live="median_wait_seconds"]').inner_text() == "1.0 s"
            heights = page.locator('[data-live="chart"] rect').evaluate_all(
                "rects => rects.map(r => Number(r.getAttribute('height')))"
            )
            # One bar for the one match: the newest, or the one before it when a minute turned
            # between the match and the poll that drew the chart.
            assert len(heights) == 60
            assert [i for i, h in enumerate(heights) if h > 0] in ([59], [58])
            assert page.locator('[data-live="error"]').inner_text() == ""
        finally:
            browser.close()
    assert problems == []
