"""POST /api/translate/: the chat page's Translate action on a received line."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from seendr.translation.tests.libretranslate_stub import LibreTranslateStub

URL = "/api/translate/"


@pytest.fixture
def stub(settings):
    with LibreTranslateStub() as server:
        settings.TRANSLATION_BACKEND = "libretranslate"
        settings.LIBRETRANSLATE_URL = server.url
        yield server


@pytest.fixture
def guest(db) -> Client:
    client = Client()
    assert client.post("/guest/", {"adult": "on"}).status_code == 302
    return client


def post(client: Client, body: object, **headers):
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def test_translates_a_line_for_a_guest(stub, guest):
    response = post(guest, {"text": "hola amigo", "source": "es", "target": "en"})
    assert response.status_code == 200
    assert response.json() == {"translation": "hello friend", "source": "es", "target": "en"}


def test_target_takes_a_site_language_in_any_spelling(stub, guest):
    response = post(guest, {"text": "hello", "source": "en", "target": "pt-BR"})
    assert response.json()["target"] == "pt-br"
    assert stub.requests[0]["target"] == "pt"


def test_needs_a_user_or_guest(stub, db):
    response = post(Client(), {"text": "hola", "target": "en"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "hola",
        {"target": "en"},
        {"text": "", "target": "en"},
        {"text": "x" * 1001, "target": "en"},
        {"text": "hola", "target": "xx"},
        {"text": "hola"},
        {"text": 5, "target": "en"},
    ],
)
def test_bad_bodies_get_a_json_400(stub, guest, body):
    response = post(guest, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"bad_json", "bad_field"}
    assert stub.requests == []


def test_off_is_a_404_the_page_never_asks(settings, guest):
    settings.TRANSLATION_BACKEND = ""
    response = post(guest, {"text": "hola", "target": "en"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "translation_off"


def test_a_refused_pair_is_422(stub, guest):
    response = post(guest, {"text": "hola", "source": "ja", "target": "en"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "translation_refused"


@pytest.mark.parametrize(("behaviour", "retry_after"), [("429", "7"), ("500", "5")])
def test_a_failing_service_is_503_with_retry_after(stub, guest, behaviour, retry_after, caplog):
    stub.mode = behaviour
    with caplog.at_level(logging.INFO):
        response = post(guest, {"text": "hola mi secreto", "source": "es", "target": "en"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "translation_unavailable"
    assert response["Retry-After"] == retry_after
    assert "secreto" not in caplog.text


def test_a_slow_service_answers_503_within_the_timeout(stub, guest, settings):
    settings.LIBRETRANSLATE_TIMEOUT_SECONDS = 0.3
    stub.mode, stub.delay = "slow", 2.0
    response = post(guest, {"text": "hola", "source": "es", "target": "en"})
    assert response.status_code == 503


def test_rate_limited_per_identity(stub, guest, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "translate": "3/1m"}
    codes = [post(guest, {"text": f"hola {n}", "source": "es", "target": "en"}).status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    other = Client()
    other.post("/guest/", {"adult": "on"})
    assert post(other, {"text": "hola", "source": "es", "target": "en"}).status_code == 200


def test_errors_speak_the_page_language(settings, guest):
    settings.TRANSLATION_BACKEND = ""
    response = post(guest, {"text": "hola", "target": "en"}, HTTP_ACCEPT_LANGUAGE="de")
    assert response.json()["error"]["message"] == "Übersetzung wird auf dieser Website nicht angeboten."


def test_needs_csrf(stub, db):
    client = Client(enforce_csrf_checks=True)
    client.post("/guest/", {"adult": "on"})
    response = post(client, {"text": "hola", "target": "en"})
    assert response.status_code == 403
