"""Real browsers against a real server: Debian's Chromium driven by Playwright, Daphne on a free port.

Chromium is the system one (``scripts/ensure_chromium.sh`` installs it), never a downloaded build.
Fake camera and microphone come from Chromium's own test devices. Create database rows before
asking for a browser: the sync Playwright API runs an event loop in the test thread, and Django
refuses ORM calls while one runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from seendr.testing.servers import ServerProcess, free_port

CHROMIUM = os.environ.get("SEENDR_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-background-networking",
    "--use-fake-device-for-media-stream",
]
# Grants camera and microphone without a prompt; leave it out to have the browser refuse them.
FAKE_UI = "--use-fake-ui-for-media-stream"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
# The person's own "Blur nudity" switch, turned off before the page's scripts read it.
SHIELD_OFF = "try { localStorage.setItem('seendr.shield', 'off'); } catch (e) {}"


@pytest.fixture(scope="session", autouse=True)
def _require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (make test does)")


@dataclass
class ChatServer:
    """Daphne on a known port whose origin may open the chat WebSocket."""

    port: int
    start: Callable[..., ServerProcess]
    process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def crash(self) -> None:
        """SIGKILL the server: sockets drop without a close frame, as on a real crash."""
        assert self.process is not None
        self.process.kill()

    def start_again(self) -> None:
        """A new server on the same port (the browser's page and cookies stay the same)."""
        self.process = self.start(port=self.port, WEBSOCKET_ALLOWED_ORIGINS=self.url)


@pytest.fixture
def chat_server(daphne_server) -> ChatServer:
    server = ChatServer(port=free_port(), start=daphne_server)
    server.process = daphne_server(port=server.port, WEBSOCKET_ALLOWED_ORIGINS=server.url)
    return server


@dataclass
class Tab:
    """One person: their own browser context (cookies, permissions) and page."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def hook(self, name: str):
        return self.page.get_by_test_id(name)


def _watch(page: Page) -> Tab:
    """A Tab whose page errors and console errors are collected for assert_no_page_errors."""
    tab = Tab(context=page.context, page=page)
    page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))

    def on_console(msg: ConsoleMessage) -> None:
        url = (msg.location or {}).get("url", "")
        if msg.type == "error" and not url.endswith("/favicon.ico"):
            tab.errors.append(f"console: {msg.text} ({url})")

    page.on("console", on_console)
    return tab


def _new_tab(
    browser: Browser, viewport: dict | None, *, shield: bool = False, locale: str | None = None
) -> Tab:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, locale=locale)
    context.set_default_timeout(15_000)
    if not shield:
        context.add_init_script(SHIELD_OFF)
    return _watch(context.new_page())


@pytest.fixture
def browsers() -> Iterator[Callable[..., Tab]]:
    """Factory: ``browsers(camera=True, viewport=None, extra_args=(), shield=False, locale=None)``
    opens a fresh Chromium for one person (``extra_args``: more Chromium flags; a later flag wins
    over a default one; ``locale`` sets its language, so its Accept-Language, e.g. "es-ES"). The
    nudity shield is switched off unless ``shield=True``: its model costs seconds of CPU per page,
    and tests/e2e/test_shield.py is where it is tested."""
    started: list[Browser] = []
    with sync_playwright() as pw:

        def open_tab(
            *,
            camera: bool = True,
            viewport: dict | None = None,
            extra_args: tuple[str, ...] = (),
            shield: bool = False,
            locale: str | None = None,
        ) -> Tab:
            args = [*BASE_ARGS, FAKE_UI, *extra_args] if camera else [*BASE_ARGS, *extra_args]
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
            started.append(browser)
            return _new_tab(browser, viewport, shield=shield, locale=locale)

        try:
            yield open_tab
        finally:
            for browser in started:
                browser.close()


@pytest.fixture
def people() -> Iterator[Callable[..., Tab]]:
    """Factory: ``people(viewport=None)``: one Chromium for the whole test (fake camera granted),
    a fresh context (own cookies) per person. Lighter than ``browsers`` on a small machine."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*BASE_ARGS, FAKE_UI], headless=True)
        try:
            yield lambda *, viewport=None: _new_tab(browser, viewport)
        finally:
            browser.close()


def sign_in(tab: Tab, base_url: str, *, username: str, password: str) -> None:
    """Log in through the real form; Django then sends us to /chat/."""
    page = tab.page
    page.goto(f"{base_url}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()
    if not page.url.rstrip("/").endswith("/chat"):
        page.goto(f"{base_url}/chat/")
    assert re.search(r"/chat/?$", page.url), f"not signed in: ended on {page.url}"


def enter_as_guest(tab: Tab, base_url: str) -> None:
    """Tick 'I am 18 or older' on the landing page and submit the guest form."""
    page = tab.page
    page.goto(f"{base_url}/")
    form = page.locator("form[action='/guest/']")
    form.locator("input[name=adult]").check()
    form.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/chat/$"))


def wait_remote_video_playing(tab: Tab, timeout_ms: int = 20_000) -> None:
    """The partner's video has real frames and its clock moves forward."""
    page = tab.page
    page.wait_for_function(
        """() => {
            const v = document.querySelector('[data-testid="remote-video"]');
            return v && v.videoWidth > 0 && v.currentTime > 0;
        }""",
        timeout=timeout_ms,
    )
    first = page.evaluate("document.querySelector('[data-testid=\"remote-video\"]').currentTime")
    page.wait_for_function(
        """(t0) => document.querySelector('[data-testid="remote-video"]').currentTime > t0 + 0.3""",
        arg=first,
        timeout=timeout_ms,
    )
