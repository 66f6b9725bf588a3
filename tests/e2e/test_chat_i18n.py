"""The chat page in another language, in real Chromium: a Spanish speaker meets a German one.

The Spanish page words its status line, its toasts and a server error (by code) in Spanish; the
German line it receives says "escrito en alemán" and translates on demand through the server's
LibreTranslate backend (a loopback stand-in speaking its API).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from seendr.testing.servers import free_port
from seendr.translation.tests.libretranslate_stub import LibreTranslateStub
from tests.e2e.conftest import enter_as_guest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


@pytest.fixture
def stub():
    with LibreTranslateStub() as server:
        yield server


def test_a_spanish_page_meets_a_german_one(daphne_server, browsers, stub):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    daphne_server(
        port=port,
        WEBSOCKET_ALLOWED_ORIGINS=url,
        TRANSLATION_BACKEND="libretranslate",
        LIBRETRANSLATE_URL=stub.url,
        RATE_LIMIT_WS_CHAT="3/1m",  # the fourth line is refused: an error frame to word
        MATCH_INTEREST_SECONDS="0.5",  # different languages meet at the "anyone" stage
        MATCH_ANYONE_SECONDS="1",
    )
    ana = browsers(locale="es-ES")
    hans = browsers(locale="de-DE")
    for tab in (ana, hans):
        # The browser's own translator would answer before the server; this test is the server's.
        tab.page.add_init_script("delete globalThis.Translator;")

    ana.page.goto(f"{url}/")
    assert ana.page.locator("html").get_attribute("lang") == "es"
    expect(ana.page.locator("h1")).to_have_text(
        "Habla cara a cara con alguien a quien le gusta lo mismo que a ti."
    )
    enter_as_guest(ana, url)
    enter_as_guest(hans, url)
    assert hans.page.locator("html").get_attribute("lang") == "de"

    expect(ana.hook("status")).to_have_text(
        "Listo cuando tú lo estés. Escribe lo que te gusta y pulsa Empezar."
    )
    expect(ana.hook("start")).to_have_text("Empezar")
    expect(ana.page.locator("#lang")).to_have_value("es")  # the matching language follows the page
    expect(hans.page.locator("#lang")).to_have_value("de")

    ana.hook("interests").fill("ajedrez")
    ana.hook("start").click()
    # The server's queued frames word each widening stage; the last one stays until a match.
    expect(ana.hook("status")).to_have_text("Ahora mismo no hay nadie con ajedrez. Buscando a cualquiera…")
    hans.hook("start").click()
    expect(ana.hook("status")).to_contain_text("Conectado con", timeout=20_000)
    expect(hans.hook("status")).to_contain_text("Verbunden mit")

    hans.hook("chat-input").fill("Hallo, wie geht es dir heute?")
    hans.hook("chat-input").press("Enter")
    line = ana.hook("chat-log").locator(".msg.them").last
    expect(line).to_contain_text("Hallo, wie geht es dir heute?")
    expect(line.get_by_test_id("written-in")).to_have_text("escrito en alemán")
    line.get_by_test_id("translate").click()
    expect(line.get_by_test_id("translation")).to_have_text("[es] Hallo, wie geht es dir heute?")
    assert stub.requests[-1] == {
        "q": "Hallo, wie geht es dir heute?",
        "source": "de",
        "target": "es",
        "format": "text",
    }

    ana.hook("like").click()
    expect(ana.page.locator("#toasts")).to_contain_text("¡Te gusta! Se lo haremos saber.")
    expect(hans.page.locator("#toasts")).to_contain_text("hat dich geliked!")

    for n in range(4):
        ana.hook("chat-input").fill(f"hola {n}")
        ana.hook("chat-input").press("Enter")
    expect(ana.page.locator("#toasts")).to_contain_text(
        re.compile(r"Más despacio: vuelve a intentarlo en \d+ s\.")
    )

    # The footer's switcher: French from now on, on every page, whatever the browser says.
    ana.page.goto(f"{url}/leaderboard/")
    ana.page.get_by_test_id("language-select").select_option("fr")
    ana.page.get_by_test_id("language-submit").click()
    expect(ana.page.locator("h1")).to_have_text("Classement")
    assert ana.page.locator("html").get_attribute("lang") == "fr"
    ana.page.goto(f"{url}/chat/")
    expect(ana.hook("start")).to_have_text("Démarrer")

    for tab in (ana, hans):
        assert not tab.errors, tab.errors


# Debian's Chromium has no built-in Translator API; this stand-in has its shape (availability(),
# create(), translate()) so the page's use of it is what is tested.
FAKE_TRANSLATOR = """
globalThis.Translator = {
  async availability({ sourceLanguage, targetLanguage }) {
    return sourceLanguage === "de" && targetLanguage === "es" ? "available" : "unavailable";
  },
  async create({ sourceLanguage, targetLanguage }) {
    return { async translate(text) { return `[browser ${sourceLanguage}>${targetLanguage}] ${text}`; } };
  },
};
"""


def test_the_browsers_own_translator_is_used_and_the_line_stays_on_the_device(daphne_server, browsers, stub):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    daphne_server(
        port=port,
        WEBSOCKET_ALLOWED_ORIGINS=url,
        TRANSLATION_BACKEND="libretranslate",
        LIBRETRANSLATE_URL=stub.url,
        MATCH_INTEREST_SECONDS="0.5",
        MATCH_ANYONE_SECONDS="1",
    )
    ana = browsers(locale="es-ES")
    hans = browsers(locale="de-DE")
    ana.page.add_init_script(FAKE_TRANSLATOR)
    enter_as_guest(ana, url)
    enter_as_guest(hans, url)
    ana.hook("start").click()
    hans.hook("start").click()
    expect(ana.hook("status")).to_contain_text("Conectado con", timeout=20_000)

    hans.hook("chat-input").fill("Guten Abend, woher kommst du?")
    hans.hook("chat-input").press("Enter")
    line = ana.hook("chat-log").locator(".msg.them").last
    line.get_by_test_id("translate").click()
    expect(line.get_by_test_id("translation")).to_have_text("[browser de>es] Guten Abend, woher kommst du?")
    assert stub.requests == []  # nothing left the browser

    # French has no model in this browser: the server translates that line.
    hans.hook("chat-input").fill("Bonsoir, tu viens d'où ? Moi je suis de Lyon.")
    hans.hook("chat-input").press("Enter")
    line = ana.hook("chat-log").locator(".msg.them").last
    expect(line.get_by_test_id("written-in")).to_have_text("escrito en francés")
    line.get_by_test_id("translate").click()
    expect(line.get_by_test_id("translation")).to_have_text(
        "[es] Bonsoir, tu viens d'où ? Moi je suis de Lyon."
    )
    assert [r["source"] for r in stub.requests] == ["fr"]
    for tab in (ana, hans):
        assert not tab.errors, tab.errors


def test_translation_off_shows_no_action(chat_server, browsers):
    ana = browsers(locale="es-ES")
    hans = browsers(locale="de-DE")
    enter_as_guest(ana, chat_server.url)
    enter_as_guest(hans, chat_server.url)
    for tab in (ana, hans):
        tab.page.locator("#lang").select_option("")  # any language: meet at once
        tab.hook("start").click()
    expect(ana.hook("status")).to_contain_text("Conectado con", timeout=20_000)
    hans.hook("chat-input").fill("Guten Abend, woher kommst du?")
    hans.hook("chat-input").press("Enter")
    line = ana.hook("chat-log").locator(".msg.them").last
    expect(line.get_by_test_id("written-in")).to_have_text("escrito en alemán")
    expect(line.get_by_test_id("translate")).to_have_count(0)
