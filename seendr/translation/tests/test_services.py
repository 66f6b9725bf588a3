"""translate_line: the Redis cache in front of the backend, and offline language detection."""

from __future__ import annotations

import logging

import pytest
from django_redis import get_redis_connection

from seendr import keys
from seendr.translation import detection, services
from seendr.translation.services import TranslationError, TranslationOff, translate_line
from seendr.translation.tests.libretranslate_stub import LibreTranslateStub


@pytest.fixture
def stub(settings):
    with LibreTranslateStub() as server:
        settings.TRANSLATION_BACKEND = "libretranslate"
        settings.LIBRETRANSLATE_URL = server.url
        settings.LIBRETRANSLATE_TIMEOUT_SECONDS = 2.0
        yield server


def test_off_translates_nothing(settings):
    for backend in ("", "browser"):
        settings.TRANSLATION_BACKEND = backend
        with pytest.raises(TranslationOff):
            translate_line(text="hola amigo", target="en")


def test_a_line_is_asked_for_once_then_served_from_the_cache(stub, settings):
    settings.TRANSLATION_CACHE_SECONDS = 120
    first = translate_line(text="hola amigo", source="es", target="en")
    again = translate_line(text="hola amigo", source="es", target="en")
    assert first == again
    assert first.text == "hello friend"
    assert len(stub.requests) == 1
    key = keys.translation(services._digest("hola amigo"), "es", "en")
    cache = get_redis_connection("default")
    assert 0 < cache.ttl(key) <= 120
    assert "hola" not in key  # the key holds a hash, never the line


def test_the_cache_is_per_language_pair(stub):
    translate_line(text="hola", source="es", target="en")
    translate_line(text="hola", source="es", target="de")
    assert [r["target"] for r in stub.requests] == ["en", "de"]


def test_the_source_is_detected_offline_when_not_given(stub):
    result = translate_line(text="¿De dónde eres? Yo soy de Madrid.", target="en")
    assert result.source == "es"
    assert stub.requests[0]["source"] == "es"


def test_an_undetectable_line_lets_the_backend_decide(stub):
    result = translate_line(text="hola", target="en")  # one word: too short to tell offline
    assert stub.requests[0]["source"] == "auto"
    assert (result.text, result.source) == ("hello", "es")


def test_a_line_already_in_the_target_language_is_not_sent(stub):
    result = translate_line(text="where are you from?", source="en", target="en")
    assert result.text == "where are you from?"
    assert stub.requests == []


def test_failures_are_not_cached_and_log_no_text(stub, caplog):
    stub.mode = "500"
    with caplog.at_level(logging.DEBUG), pytest.raises(TranslationError):
        translate_line(text="hola amigo secreto", source="es", target="en")
    stub.mode = "ok"
    assert translate_line(text="hola amigo secreto", source="es", target="en").text == "hello friend secreto"
    assert len(stub.requests) == 2
    assert "secreto" not in caplog.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("¿De dónde eres? Yo soy de Madrid.", "es"),
        ("Hallo, wie geht's dir heute?", "de"),
        ("je suis content de te voir", "fr"),
        ("oi, tudo bem? de onde você é?", "pt"),
        ("where are you from?", "en"),
        ("привет как дела", "ru"),
    ],
)
def test_detection_names_the_language_of_a_line(line, expected):
    assert detection.language_of(line) == expected


@pytest.mark.parametrize("line", ["hi", "ok", "lol", "1234", "👍", "   "])
def test_detection_says_nothing_when_a_line_is_too_short_to_tell(line):
    assert detection.language_of(line) is None


def test_detection_for_the_event_loop_never_waits_for_the_model():
    detection.warm()
    if detection._warming is not None:  # None: an earlier test already loaded it
        detection._warming.join(timeout=30)
    assert detection.language_of_if_ready("Hallo, wie geht's dir heute?") == "de"
