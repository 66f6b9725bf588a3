"""The Content-Security-Policy in a real Chromium: our pages work under it, and it bites.

Every ``securitypolicyviolation`` event is recorded by a script the browser injects before
page scripts run (devtools-injected, so the policy itself does not block it).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.e2e.conftest import Tab, enter_as_guest, wait_remote_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def watch(tab: Tab) -> Tab:
    tab.context.add_init_script(RECORD_VIOLATIONS)
    return tab


def violations(tab: Tab) -> list[str]:
    return tab.page.evaluate("window.__csp || []")


def csp_console_errors(tab: Tab) -> list[str]:
    return [e for e in tab.errors if "Content Security Policy" in e or "Content-Security-Policy" in e]


def test_landing_chat_and_a_live_call_raise_no_violations(chat_server, browsers):
    a, b = watch(browsers()), watch(browsers())
    a.page.goto(f"{chat_server.url}/")
    assert a.page.evaluate("document.readyState") == "complete"
    assert violations(a) == []
    header = a.page.request.get(f"{chat_server.url}/").headers["content-security-policy"]
    assert "script-src 'self'" in header and "frame-ancestors 'none'" in header

    for tab in (a, b):
        enter_as_guest(tab, chat_server.url)  # the guest form posts, the chat page loads its modules
    for tab, interests in ((a, "chess"), (b, "chess")):
        tab.hook("interests").fill(interests)
        tab.hook("start").click()
    for tab in (a, b):
        expect(tab.hook("common-interests")).to_contain_text("chess", timeout=20_000)
    wait_remote_video_playing(a)  # media from a MediaStream, the socket, the modules: all allowed
    a.hook("chat-input").fill("hello <b>there</b>")
    a.hook("chat-send").click()
    expect(b.hook("chat-log")).to_contain_text("hello <b>there</b>")  # shown as text, not markup

    for tab in (a, b):
        assert violations(tab) == [], violations(tab)
        assert csp_console_errors(tab) == [], tab.errors


def test_the_policy_blocks_injected_inline_script(chat_server, browsers):
    """A page that somehow carried an inline script (an XSS) would not run it."""
    tab = watch(browsers(camera=False))
    tab.page.goto(f"{chat_server.url}/")
    ran = tab.page.evaluate(
        """() => new Promise((resolve) => {
            window.__pwned = false;
            const s = document.createElement('script');
            s.textContent = 'window.__pwned = true';
            document.body.appendChild(s);
            setTimeout(() => resolve(window.__pwned), 200);
        })"""
    )
    assert ran is False
    assert any(v.startswith("script-src") for v in violations(tab)), violations(tab)


@pytest.fixture
def boss():
    """A superuser, made before any browser starts (the sync Playwright API runs a loop)."""
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "boss-password-123")


def test_admin_pages_work_under_the_policy(chat_server, boss, browsers):
    tab = watch(browsers(camera=False))
    page = tab.page
    page.goto(f"{chat_server.url}/admin/login/")
    page.locator("input[name=username]").fill("boss")
    page.locator("input[name=password]").fill("boss-password-123")
    page.locator("[type=submit]").click()
    page.wait_for_url(f"{chat_server.url}/admin/")
    for path in ("/admin/moderation/reportqueue/", "/admin/moderation/ban/add/"):
        page.goto(f"{chat_server.url}{path}")
        assert page.locator("#content").count() == 1
    assert violations(tab) == [], violations(tab)
