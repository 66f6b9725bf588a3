from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from seendr import keys
from seendr.identity import GUEST_SESSION_KEY
from seendr.redis_state import state

pytestmark = pytest.mark.django_db

User = get_user_model()


def years_ago(years: int, days: int = 0) -> str:
    today = dt.date.today()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return (birthday + dt.timedelta(days=days)).isoformat()


def signup_data(**overrides) -> dict:
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "birth_date": years_ago(25),
        "password1": "correct horse battery 9",
        "password2": "correct horse battery 9",
    }
    data.update(overrides)
    return data


# --- Guests --------------------------------------------------------------------------------


def test_guest_without_adult_tick_gets_the_landing_page_with_an_error(client):
    response = client.post("/guest/", {})
    assert response.status_code == 400
    assert b"18 or older" in response.content
    assert b'action="/guest/"' in response.content
    assert GUEST_SESSION_KEY not in client.session


def test_guest_with_adult_tick_gets_a_redis_guest_and_goes_to_chat(client):
    response = client.post("/guest/", {"adult": "on"})
    assert response.status_code == 302
    assert response["Location"] == "/chat/"
    guest_id = client.session[GUEST_SESSION_KEY]
    assert guest_id.startswith("g")
    key = keys.guest(guest_id)
    assert state().hget(key, "name")
    assert 0 < state().ttl(key) <= 24 * 3600
    # A second press keeps the same live guest.
    client.post("/guest/", {"adult": "on"})
    assert client.session[GUEST_SESSION_KEY] == guest_id


def test_guest_is_post_only(client):
    assert client.get("/guest/").status_code == 405


def test_guest_has_no_profile_page(client):
    client.post("/guest/", {"adult": "on"})
    guest_id = client.session[GUEST_SESSION_KEY]
    assert client.get(f"/u/{guest_id}/").status_code == 404
    assert client.get("/profile/").status_code == 302  # to the log-in page


# --- Log in / out --------------------------------------------------------------------------


def test_login_redirects_to_chat_and_logout_is_post(client):
    User.objects.create_user(username="dora", password="pw-dora-12345")
    page = client.get("/accounts/login/")
    assert b'name="username"' in page.content and b'name="password"' in page.content
    response = client.post("/accounts/login/", {"username": "dora", "password": "pw-dora-12345"})
    assert response.status_code == 302 and response["Location"] == "/chat/"
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_shows_a_form_error(client):
    User.objects.create_user(username="dora", password="pw-dora-12345")
    response = client.post("/accounts/login/", {"username": "dora", "password": "nope"})
    assert response.status_code == 200
    assert b"errorlist" in response.content


# --- Sign-up -------------------------------------------------------------------------------


def test_signup_creates_an_adult_account_with_a_profile_and_logs_in(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/accounts/signup/", signup_data())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/"
    user = User.objects.get(username="newbie")
    assert user.profile.birth_date.isoformat() == years_ago(25)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert callbacks, "the verification mail is queued after commit"


def test_signup_refuses_under_18(client):
    response = client.post("/accounts/signup/", signup_data(birth_date=years_ago(18, days=1)))
    assert response.status_code == 400
    assert b"You must be 18 or older" in response.content
    assert "birth_date" in response.context["form"].errors
    assert not User.objects.filter(username="newbie").exists()


def test_signup_accepts_exactly_18_today(client):
    response = client.post("/accounts/signup/", signup_data(birth_date=years_ago(18)))
    assert response.status_code == 302


@pytest.mark.parametrize("birth_date", ["2000-13-01", "01/02/2000", "", "3000-01-01"])
def test_signup_rejects_bad_birth_dates(client, birth_date):
    response = client.post("/accounts/signup/", signup_data(birth_date=birth_date))
    assert response.status_code == 400
    assert not User.objects.filter(username="newbie").exists()


def test_signup_rejects_duplicate_username(client):
    User.objects.create_user(username="newbie", password="x-pw-123456")
    response = client.post("/accounts/signup/", signup_data(username="NEWBIE"))
    assert response.status_code == 400
    assert b"already exists" in response.content


def test_signup_rejects_password_mismatch(client):
    response = client.post("/accounts/signup/", signup_data(password2="something else 77"))
    assert response.status_code == 400
    assert "password2" in response.context["form"].errors
    assert not User.objects.filter(username="newbie").exists()


def test_email_in_use_message_is_generic(client):
    User.objects.create_user(username="first", email="Newbie@Example.com", password="x-pw-123456")
    response = client.post("/accounts/signup/", signup_data())
    assert response.status_code == 400
    assert response.context["form"].errors["email"] == [
        "This email address cannot be used for a new account. If you already have an account, "
        "log in or reset your password."
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_name_in_different_cases_make_one_account():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    names = ["racer", "Racer", "RACER", "racer", "rAcer", "racer", "RaCeR", "racer"]
    barrier = threading.Barrier(len(names))

    def attempt(i: int) -> int:
        try:
            client = Client()
            data = signup_data(username=names[i], email=f"racer{i}@example.com")
            barrier.wait(timeout=10)
            # One address each: this is about the race, not the per-IP sign-up limit.
            return client.post("/accounts/signup/", data, REMOTE_ADDR=f"10.1.0.{i}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        statuses = list(pool.map(attempt, range(len(names))))
    assert sorted(statuses) == [302] + [400] * (len(names) - 1)
    assert User.objects.filter(username__iexact="racer").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_email_make_one_account():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    barrier = threading.Barrier(6)

    def attempt(i: int) -> int:
        try:
            data = signup_data(username=f"mail{i}", email="Same@Example.com" if i % 2 else "same@example.com")
            barrier.wait(timeout=10)
            # One address each: this is about the race, not the per-IP sign-up limit.
            return Client().post("/accounts/signup/", data, REMOTE_ADDR=f"10.2.0.{i}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(attempt, range(6)))
    assert sorted(statuses) == [302] + [400] * 5
    assert User.objects.filter(email__iexact="same@example.com").count() == 1
