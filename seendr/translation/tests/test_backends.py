"""Contract of the LibreTranslate client against a loopback server speaking its API."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from seendr.translation.backends import LibreTranslate, TranslationError, mode, server_backend
from seendr.translation.tests.libretranslate_stub import LibreTranslateStub


@pytest.fixture(autouse=True)
def _isolated_redis():
    """The client alone touches no Redis."""
    yield


@pytest.fixture
def stub():
    with LibreTranslateStub() as server:
        yield server


def client(stub: LibreTranslateStub, **kwargs) -> LibreTranslate:
    return LibreTranslate(url=stub.url, **{"timeout": 2.0, **kwargs})


def test_200_translates_and_sends_the_api_fields(stub):
    stub.api_key = "k-123"
    result = client(stub, api_key="k-123").translate(text="hola amigo", source="es", target="en")
    assert result.text == "hello friend"
    assert result.source == "es"
    assert stub.requests == [
        {"q": "hola amigo", "source": "es", "target": "en", "format": "text", "api_key": "k-123"}
    ]


def test_200_with_auto_reports_the_detected_language(stub):
    result = client(stub).translate(text="hola", source="auto", target="en")
    assert (result.text, result.source) == ("hello", "es")


def test_regional_codes_are_sent_as_libretranslate_names_them(stub):
    client(stub).translate(text="hello", source="en", target="pt-br")
    assert stub.requests[0]["target"] == "pt"


def test_400_is_a_refusal(stub):
    with pytest.raises(TranslationError) as caught:
        client(stub).translate(text="hola", source="es", target="xx")
    assert caught.value.refused
    assert caught.value.reason == "refused (400)"


def test_403_wrong_key_is_unavailable_not_refused(stub):
    stub.api_key = "right"
    with pytest.raises(TranslationError) as caught:
        client(stub, api_key="wrong").translate(text="hola", source="es", target="en")
    assert not caught.value.refused
    assert caught.value.reason == "HTTP 403"


def test_429_is_unavailable_with_its_retry_after(stub):
    stub.mode = "429"
    with pytest.raises(TranslationError) as caught:
        client(stub).translate(text="hola", source="es", target="en")
    assert not caught.value.refused
    assert caught.value.retry_after == 7


def test_500_is_unavailable(stub):
    stub.mode = "500"
    with pytest.raises(TranslationError) as caught:
        client(stub).translate(text="hola", source="es", target="en")
    assert (caught.value.refused, caught.value.reason) == (False, "HTTP 500")


def test_a_slow_server_times_out_at_the_configured_timeout(stub):
    stub.mode = "slow"
    stub.delay = 2.0
    started = time.monotonic()
    with pytest.raises(TranslationError) as caught:
        client(stub, timeout=0.3).translate(text="hola", source="es", target="en")
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_a_malformed_answer_is_unavailable(stub):
    stub.mode = "garbage"
    with pytest.raises(TranslationError) as caught:
        client(stub).translate(text="hola", source="es", target="en")
    assert caught.value.reason == "malformed answer"


def test_nobody_listening_is_unavailable():
    from seendr.testing.servers import free_port

    with pytest.raises(TranslationError) as caught:
        LibreTranslate(url=f"http://127.0.0.1:{free_port()}").translate(text="hola", source="es", target="en")
    assert caught.value.reason.startswith("unreachable")


def test_errors_never_carry_the_text(stub):
    for behaviour in ("429", "500", "garbage"):
        stub.mode = behaviour
        with pytest.raises(TranslationError) as caught:
            client(stub).translate(text="my secret line", source="es", target="en")
        assert "secret" not in str(caught.value)


def test_the_backend_setting(settings):
    settings.TRANSLATION_BACKEND = ""
    assert (mode(), server_backend()) == ("", None)
    settings.TRANSLATION_BACKEND = "browser"
    assert (mode(), server_backend()) == ("browser", None)
    settings.TRANSLATION_BACKEND = "libretranslate"
    settings.LIBRETRANSLATE_URL = ""
    with pytest.raises(ImproperlyConfigured):
        server_backend()
    settings.LIBRETRANSLATE_URL = "http://127.0.0.1:5000"
    settings.LIBRETRANSLATE_TIMEOUT_SECONDS = 2.0
    backend = server_backend()
    assert isinstance(backend, LibreTranslate) and backend.timeout == 2.0
    settings.TRANSLATION_BACKEND = "deepl"
    with pytest.raises(ImproperlyConfigured):
        mode()
    with pytest.raises(ImproperlyConfigured):
        LibreTranslate(url="file:///etc/passwd")
