"""Against a real LibreTranslate server: opt-in, never part of `make test`.

Run with LIBRETRANSLATE_URL (and LIBRETRANSLATE_API_KEY if the server wants one) pointing at a
server that has English, Spanish and German loaded::

    docker compose --profile translate up -d libretranslate
    LIBRETRANSLATE_URL=http://127.0.0.1:5000 make test-libretranslate

Without --run-libretranslate these tests are deselected (reported as such, not skipped);
with it but without a server, they fail.
"""

from __future__ import annotations

import os

import pytest

from seendr.translation.backends import LibreTranslate, TranslationError

pytestmark = pytest.mark.libretranslate


@pytest.fixture
def live() -> LibreTranslate:
    url = os.environ.get("LIBRETRANSLATE_URL", "")
    if not url:
        pytest.fail("set LIBRETRANSLATE_URL to a running LibreTranslate server (see docs/i18n.md)")
    # A cold server loads its models on the first request: give the suite more than the app's 2 s.
    return LibreTranslate(url=url, api_key=os.environ.get("LIBRETRANSLATE_API_KEY", ""), timeout=30)


@pytest.fixture(autouse=True)
def _isolated_redis():
    """Only the HTTP client is exercised here."""
    yield


def test_translates_spanish_to_english(live):
    result = live.translate(text="Hola, ¿cómo estás?", source="es", target="en")
    assert "how are you" in result.text.lower()
    assert result.source == "es"


def test_detects_the_source_when_asked_with_auto(live):
    result = live.translate(text="Guten Morgen, wie geht es dir?", source="auto", target="en")
    assert result.source == "de"
    assert "morning" in result.text.lower()


def test_an_unknown_language_is_refused(live):
    with pytest.raises(TranslationError) as caught:
        live.translate(text="hello", source="en", target="xx")
    assert caught.value.refused
