from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_profile_api_has_exactly_the_protocol_shape(client, make_user):
    make_user(
        "alice",
        display_name="Alice A",
        bio="hi",
        country="DE",
        languages=["de", "en"],
        interests=["Jazz", "chess"],
        likes_received=3,
        email_verified=True,
    )
    response = client.get("/api/profiles/alice/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "username": "alice",
        "display_name": "Alice A",
        "bio": "hi",
        "country": "DE",
        "languages": ["de", "en"],
        "interests": ["chess", "jazz"],
        "likes": 3,
        "verified": True,
    }


def test_display_name_defaults_to_username(client, make_user):
    make_user("bob")
    assert client.get("/api/profiles/bob/").json()["display_name"] == "bob"


@pytest.mark.parametrize("username", ["nobody", "x" * 200, "bad%20name", "a'b"])
def test_unknown_profile_is_404_json(client, username):
    response = client.get(f"/api/profiles/{username}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"]


def test_inactive_user_has_no_public_profile(client, make_user):
    user = make_user("gone")
    user.is_active = False
    user.save()
    assert client.get("/api/profiles/gone/").status_code == 404


def test_writes_are_refused_with_json(client, make_user):
    make_user("carol")
    response = client.post("/api/profiles/carol/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
