from __future__ import annotations

import pytest

from profiles import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="x"
    )
    client.force_login(admin)
    return client


def test_user_admin_searches_username_and_email(staff_client, make_user):
    make_user("findme")
    make_user("other")
    by_name = staff_client.get("/admin/auth/user/", {"q": "findme"})
    by_email = staff_client.get("/admin/auth/user/", {"q": "findme@example.com"})
    for response in (by_name, by_email):
        assert response.status_code == 200
        assert list(response.context["cl"].result_list.values_list("username", flat=True)) == ["findme"]


def test_profile_admin_lists_filters_and_searches(staff_client, make_user):
    make_user("deutsch", country="DE", email_verified=True)
    make_user("brasil", country="BR")
    assert staff_client.get("/admin/profiles/profile/").status_code == 200
    filtered = staff_client.get("/admin/profiles/profile/", {"country": "DE", "email_verified__exact": "1"})
    assert [p.user.username for p in filtered.context["cl"].result_list] == ["deutsch"]
    searched = staff_client.get("/admin/profiles/profile/", {"q": "brasil"})
    assert [p.user.username for p in searched.context["cl"].result_list] == ["brasil"]


def test_interest_admin_shows_usage_counts(staff_client, make_user):
    make_user(interests=["jazz", "chess"])
    make_user(interests=["jazz"])
    response = staff_client.get("/admin/profiles/interest/")
    usage = {i.name: i.usage_count for i in response.context["cl"].result_list}
    assert usage == {"chess": 1, "jazz": 2}


def test_block_admin_lists_blocks(staff_client, make_user):
    a, b = make_user(), make_user()
    services.block(blocker_id=f"u{a.pk}", blocked_id=f"u{b.pk}")
    response = staff_client.get("/admin/profiles/block/")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1


def test_friendship_admin_lists_and_searches_but_cannot_add(staff_client, make_user):
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    services.befriend(user_id=ada.pk, other_user_id=bob.pk, match_id="m1")
    services.befriend(user_id=cyd.pk, other_user_id=ada.pk)
    response = staff_client.get("/admin/profiles/friendship/", {"q": "bob"})
    assert [f.match_id for f in response.context["cl"].result_list] == ["m1"]
    assert staff_client.get("/admin/profiles/friendship/add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_admin_edit_refreshes_the_cached_profile(staff_client, make_user):
    from profiles import selectors
    from profiles.models import Profile

    user = make_user("edited")
    assert selectors.get_public_profile(username="edited")["bio"] == ""
    profile = Profile.objects.get(user=user)
    response = staff_client.post(
        f"/admin/profiles/profile/{profile.pk}/change/",
        {
            "user": user.pk,
            "display_name": "Edited",
            "bio": "set by a moderator",
            "country": "",
            "languages": "",
            "birth_date": "",
            "karma": "0",
            "interests": [],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert selectors.get_public_profile(username="edited")["bio"] == "set by a moderator"
