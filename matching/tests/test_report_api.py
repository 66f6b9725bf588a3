"""POST /api/matches/<id>/report/: session auth, CSRF, Idempotency-Key, rate limit, 404 JSON."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client, override_settings

from moderation.models import Report
from moderation.tests.helpers import guest_identity, live_match, make_user
from seendr.identity import GUEST_SESSION_KEY, for_user

pytestmark = pytest.mark.django_db

CSRF = "A" * 32


def csrf_client() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF
    return client


def post(client: Client, match_id: str, body: dict | str, **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        f"/api/matches/{match_id}/report/",
        data=data,
        content_type="application/json",
        headers={"X-CSRFToken": CSRF, **headers},
    )


@pytest.fixture
def pair(django_capture_on_commit_callbacks):
    alice_user, bob_user = make_user("alice"), make_user("bob")
    alice, bob = for_user(alice_user), for_user(bob_user)
    match_id = live_match(alice, bob)
    client = csrf_client()
    client.force_login(alice_user)
    return client, match_id, alice, bob


def test_account_reports_its_partner(pair, django_capture_on_commit_callbacks):
    client, match_id, alice, bob = pair
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, match_id, {"reason": "harassment", "note": "shouting"})
    assert response.status_code == 201, response.content
    assert response.json() == {"type": "reported", "new": True}
    row = Report.objects.get()
    assert (row.reporter_identity, row.reported_identity, row.note) == (alice.id, bob.id, "shouting")
    again = post(client, match_id, {"reason": "spam"})
    assert again.status_code == 200 and again.json() == {"type": "reported", "new": False}


def test_guest_can_report_too(django_capture_on_commit_callbacks):
    alice = for_user(make_user("alice"))
    guest = guest_identity()
    match_id = live_match(alice, guest)
    client = csrf_client()
    session = client.session
    session[GUEST_SESSION_KEY] = guest.id
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, match_id, {"reason": "nudity"})
    assert response.status_code == 201, response.content
    assert Report.objects.get().reporter_identity == guest.id


def test_post_without_csrf_token_is_refused(pair):
    client, match_id, *_ = pair
    response = client.post(
        f"/api/matches/{match_id}/report/",
        data=json.dumps({"reason": "spam"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert not Report.objects.exists()


def test_anonymous_is_refused_with_json():
    response = post(csrf_client(), "abc", {"reason": "spam"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_someone_outside_the_match_gets_404(pair):
    _, match_id, *_ = pair
    mallory = make_user("mallory")
    client = csrf_client()
    client.force_login(mallory)
    response = post(client, match_id, {"reason": "spam"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert post(client, "no-such-match", {"reason": "spam"}).status_code == 404
    assert post(client, "x" * 300, {"reason": "spam"}).status_code == 404
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ({"reason": "because"}, "bad_reason"),
        ({"reason": ["spam"]}, "bad_reason"),
        ({"reason": "spam", "note": "x" * 1001}, "bad_note"),
        ({"reason": "spam", "note": {"$gt": ""}}, "bad_note"),
    ],
)
def test_bad_bodies_get_400_json(pair, body, code):
    client, match_id, *_ = pair
    response = post(client, match_id, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_bad_body_errors_are_worded_in_the_callers_language(pair):
    client, match_id, *_ = pair
    reason = post(client, match_id, {"reason": "because"}, **{"Accept-Language": "fr"}).json()["error"]
    note = post(client, match_id, {"reason": "spam", "note": "x" * 1001}, **{"Accept-Language": "fr"}).json()[
        "error"
    ]
    assert reason["message"].startswith("le motif doit être l\u2019un de ") and "spam" in reason["message"]
    assert note["message"] == "la note doit être un texte de 1000 caractères au maximum."


def test_get_is_not_allowed(pair):
    client, match_id, *_ = pair
    assert client.get(f"/api/matches/{match_id}/report/").status_code == 405


def test_idempotency_key_replays_the_first_answer(pair, django_capture_on_commit_callbacks):
    client, match_id, *_ = pair
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, match_id, {"reason": "spam"}, **{"Idempotency-Key": "rep-1"})
    replay = post(client, match_id, {"reason": "spam"}, **{"Idempotency-Key": "rep-1"})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == {"type": "reported", "new": True}
    assert replay["Idempotent-Replayed"] == "true"
    assert post(client, match_id, {"reason": "spam"}, **{"Idempotency-Key": "bad key!"}).status_code == 400


@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "report": "2/1h"})
def test_reports_are_rate_limited_per_identity(pair):
    client, match_id, *_ = pair
    assert post(client, match_id, {"reason": "spam"}).status_code == 201
    assert post(client, "other-match", {"reason": "spam"}).status_code == 404
    refused = post(client, match_id, {"reason": "spam"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1800"
    assert refused.json()["error"]["code"] == "rate_limited"
