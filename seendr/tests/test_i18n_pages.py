"""Pages, forms, mail and JSON errors speak the visitor's language.

The language comes from the switcher's cookie, else Accept-Language; an account keeps its
choice on its profile and gets it back at log-in.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts import services as account_services
from profiles.models import Profile
from seendr.i18n import language_from_headers, supported_language

# One phrase of the log-in page per language: its title and button.
LOG_IN = {"en": "Log in", "es": "Iniciar sesión", "pt-br": "Entrar", "fr": "Se connecter", "de": "Anmelden"}
LEADERBOARD = {
    "en": "Leaderboard",
    "es": "Clasificación",
    "pt-br": "Ranking",
    "fr": "Classement",
    "de": "Bestenliste",
}


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1)


def test_the_site_offers_five_languages():
    assert [code for code, _ in settings.LANGUAGES] == ["en", "es", "pt-br", "fr", "de"]


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, "es-MX,es;q=0.9", "es"),
        (None, "pt-BR,pt;q=0.9", "pt-br"),
        (None, "pt-PT", "pt-br"),
        (None, "de-AT", "de"),
        (None, "ja,fr;q=0.5", "fr"),
        (None, "ja,ko", "en"),
        (None, "", "en"),
        ("de", "es", "de"),
        ("xx", "fr", "fr"),
        (None, "*", "en"),
    ],
)
def test_language_from_headers(cookie, header, expected):
    assert language_from_headers(cookie=cookie, accept_language=header) == expected


def test_supported_language_refuses_junk():
    assert supported_language("x" * 200) is None
    assert supported_language("") is None
    assert supported_language("../../etc") is None


@pytest.mark.django_db
@pytest.mark.parametrize("language", list(LOG_IN))
def test_pages_render_by_accept_language(language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert html_lang(response) == language
    assert f"<h1>{LOG_IN[language]}</h1>" in response.content.decode()
    board = client.get("/leaderboard/")
    assert f"<h1>{LEADERBOARD[language]}</h1>" in board.content.decode()
    assert "Accept-Language" in board["Vary"]


@pytest.mark.django_db
def test_the_switcher_sets_the_language_and_returns_to_the_page():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/leaderboard/").content.decode()
    assert 'data-testid="language-switcher"' in page and 'action="/i18n/setlang/"' in page
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/leaderboard/"})
    assert response.status_code == 302 and response["Location"] == "/leaderboard/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    board = client.get("/leaderboard/")
    assert html_lang(board) == "fr"
    assert "<h1>Classement</h1>" in board.content.decode()
    assert '<option value="fr" lang="fr" selected>Français</option>' in board.content.decode()


@pytest.mark.django_db
def test_the_switcher_refuses_a_foreign_next():
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "de", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_an_account_keeps_its_choice_and_gets_it_back_at_log_in():
    get_user_model().objects.create_user(username="ana", email="ana@example.com", password="pw-123456-long")
    first = Client()
    first.login(username="ana", password="pw-123456-long")
    first.post("/i18n/setlang/", {"language": "pt-br", "next": "/"})
    assert Profile.objects.get(user__username="ana").ui_language == "pt-br"

    other_browser = Client(HTTP_ACCEPT_LANGUAGE="de")
    response = other_browser.post("/accounts/login/", {"username": "ana", "password": "pw-123456-long"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "pt-br"
    assert html_lang(other_browser.get("/leaderboard/")) == "pt-br"


@pytest.mark.django_db
def test_a_browser_choice_made_before_log_in_is_saved_to_the_account():
    get_user_model().objects.create_user(username="bo", email="bo@example.com", password="pw-123456-long")
    client = Client()
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    client.post("/accounts/login/", {"username": "bo", "password": "pw-123456-long"})
    assert Profile.objects.get(user__username="bo").ui_language == "es"


@pytest.mark.django_db
def test_form_errors_are_translated():
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    too_young = (dt.date.today() - dt.timedelta(days=365 * 10)).isoformat()
    response = client.post(
        "/accounts/signup/",
        {
            "username": "kid",
            "email": "kid@example.com",
            "birth_date": too_young,
            "password1": "x",
            "password2": "y",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Debes tener 18 años o más para usar Seendr." in page
    assert "Fecha de nacimiento" in page  # our label
    assert "Nombre de usuario" in page  # Django's own catalog


@pytest.mark.django_db
def test_json_errors_are_translated():
    response = Client(HTTP_ACCEPT_LANGUAGE="de").get("/api/profiles/nobody-here/")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Kein Profil mit diesem Benutzernamen.",
    }


@pytest.mark.django_db
def test_the_verification_mail_is_in_the_language_of_sign_up():
    user = account_services.sign_up(
        username="luz",
        email="luz@example.com",
        birth_date=dt.date(1990, 1, 1),
        password="pw-123456-long",
        language="es",
    )
    mail.outbox.clear()
    assert account_services.send_verification_code(user_id=user.pk)
    message = mail.outbox[0]
    assert message.subject.startswith("Tu código de Seendr: ")
    assert message.body.startswith("Hola luz:")
    assert "Es válido durante 10 minutos." in message.body


@pytest.mark.django_db
def test_the_password_reset_mail_is_in_the_language_of_the_request(django_capture_on_commit_callbacks):
    from accounts import tasks

    get_user_model().objects.create_user(username="jo", email="jo@example.com", password="pw-123456-long")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/accounts/password_reset/", {"email": "jo@example.com"})
    assert response.status_code == 302
    (queued,) = callbacks
    # The worker runs outside any request: the language travels with the task.
    tasks.send_password_reset_task.apply(args=queued.args, kwargs=queued.keywords, throw=True)
    message = mail.outbox[-1]
    assert message.subject == "Réinitialise ton mot de passe Seendr"
    assert message.body.startswith("Bonjour jo,")
    assert re.search(r"http://testserver/accounts/reset/[^/]+/[^/]+/", message.body)


@pytest.mark.django_db
def test_the_javascript_catalog_follows_the_language():
    response = Client(HTTP_ACCEPT_LANGUAGE="de").get("/jsi18n/")
    assert response.status_code == 200
    assert "Niemand hier bisher. Sei die erste Person!" in response.content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/jsi18n/").content.decode()
    assert "Niemand hier" not in english


@pytest.mark.django_db
def test_a_catalog_is_never_reused_for_another_language():
    response = Client().get("/jsi18n/")
    assert "Cookie" in response["Vary"] and "Accept-Language" in response["Vary"]
    assert "Last-Modified" not in response and "ETag" not in response


def chat_config(response) -> dict:
    import json

    page = response.content.decode()
    return json.loads(
        re.search(r'<script id="chat-config" type="application/json">(.*?)</script>', page).group(1)
    )


@pytest.mark.django_db
def test_the_matching_language_defaults_to_the_page_language(settings):
    settings.TRANSLATION_BACKEND = ""
    guest = Client(HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.8")
    guest.post("/guest/", {"adult": "on"})
    response = guest.get("/chat/")
    page = response.content.decode()
    assert '<option value="fr" selected>' in page
    assert chat_config(response)["language"] == "fr"
    assert chat_config(response)["translation"] == ""
    brazilian = Client(HTTP_ACCEPT_LANGUAGE="pt-BR")
    brazilian.post("/guest/", {"adult": "on"})
    assert '<option value="pt" selected>' in brazilian.get("/chat/").content.decode()


@pytest.mark.django_db
def test_a_profile_language_still_wins_for_matching(settings):
    settings.TRANSLATION_BACKEND = "browser"
    user = get_user_model().objects.create_user(username="kai", password="pw-123456-long")
    Profile.objects.filter(user=user).update(languages=["de"])
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.login(username="kai", password="pw-123456-long")
    response = client.get("/chat/")
    assert '<option value="de" selected>' in response.content.decode()
    assert chat_config(response)["translation"] == "browser"
