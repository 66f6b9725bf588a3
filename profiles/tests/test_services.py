from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError
from PIL import Image

from profiles import services
from profiles.models import Block, Interest, Profile
from seendr import keys
from seendr.identity import GUEST_TTL_SECONDS
from seendr.redis_state import state

pytestmark = pytest.mark.django_db


def test_every_user_gets_a_profile(django_user_model):
    user = django_user_model.objects.create_user(username="plain", password="x")
    admin = django_user_model.objects.create_superuser(username="boss", email="b@example.com", password="x")
    assert Profile.objects.filter(user__in=[user, admin]).count() == 2


def test_interest_names_are_normalised_and_unique():
    assert Interest.objects.create(name="  Board   GAMES ").name == "board games"
    with pytest.raises(IntegrityError):
        Interest.objects.create(name="board games")


def test_ensure_interests_reuses_rows_and_keeps_order():
    first = services.ensure_interests(names=["Jazz", "chess", "jazz"])
    again = services.ensure_interests(names=["CHESS", "go"])
    assert [i.name for i in first] == ["jazz", "chess"]
    assert again[0].pk == first[1].pk
    assert Interest.objects.count() == 3


def test_account_block_is_a_row_and_a_redis_set(make_user, django_capture_on_commit_callbacks):
    alice, bob = make_user(), make_user()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.block(blocker_id=f"u{alice.pk}", blocked_id=f"u{bob.pk}") is True
    with django_capture_on_commit_callbacks(execute=True):
        assert services.block(blocker_id=f"u{alice.pk}", blocked_id=f"u{bob.pk}") is False
    row = Block.objects.get()
    assert (row.blocker_user, row.blocked_user) == (alice, bob)
    assert state().smembers(keys.blocks(f"u{alice.pk}")) == {f"u{bob.pk}"}
    assert state().ttl(keys.blocks(f"u{alice.pk}")) == -1  # durable: rebuilt from Postgres


def test_account_blocking_a_guest(make_user, django_capture_on_commit_callbacks):
    alice = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        services.block(blocker_id=f"u{alice.pk}", blocked_id="g" + "ab" * 12)
    row = Block.objects.get()
    assert row.blocked_user is None and row.blocked_identity == "g" + "ab" * 12


def test_guest_block_lives_in_redis_with_the_guest_ttl():
    guest = "g" + "0f" * 12
    assert services.block(blocker_id=guest, blocked_id="u42") is True
    assert services.block(blocker_id=guest, blocked_id="u42") is False
    assert Block.objects.count() == 0
    assert state().smembers(keys.blocks(guest)) == {"u42"}
    assert 0 < state().ttl(keys.blocks(guest)) <= GUEST_TTL_SECONDS


@pytest.mark.parametrize(("blocker", "blocked"), [("u1", "u1"), ("x1", "u2"), ("u1", "u2:x"), ("", "u2")])
def test_bad_blocks_are_refused(blocker, blocked):
    with pytest.raises(ValueError):
        services.block(blocker_id=blocker, blocked_id=blocked)


def test_rebuild_block_sets_after_a_redis_flush(make_user, django_capture_on_commit_callbacks):
    users = [make_user() for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        for a in users:
            for b in users:
                if a != b:
                    services.block(blocker_id=f"u{a.pk}", blocked_id=f"u{b.pk}")
    for u in users:
        state().delete(keys.blocks(f"u{u.pk}"))
    assert services.rebuild_block_sets(batch_size=5) == 12
    for u in users:
        assert state().scard(keys.blocks(f"u{u.pk}")) == 3


def test_update_profile_rejects_more_than_ten_interests(make_user):
    user = make_user()
    with pytest.raises(ValueError):
        services.update_profile(
            user_id=user.pk,
            display_name="",
            bio="",
            country="",
            languages=[],
            interests=[f"t{i}" for i in range(11)],
        )
    assert Profile.objects.get(user=user).interests.count() == 0


def test_thumbnail_is_a_small_square(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = make_user()
    out = io.BytesIO()
    Image.new("RGB", (640, 320), (10, 200, 10)).save(out, "PNG")
    profile = Profile.objects.get(user=user)
    profile.avatar.save("a.png", ContentFile(out.getvalue()))
    assert services.make_avatar_thumbnail(user_id=user.pk) is True
    profile.refresh_from_db()
    with Image.open(profile.avatar_thumbnail.path) as thumb:
        assert thumb.size == services.THUMBNAIL_SIZE
        assert thumb.format == "JPEG"


def test_thumbnail_of_a_broken_file_is_skipped(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = make_user()
    profile = Profile.objects.get(user=user)
    profile.avatar.save("a.png", ContentFile(b"not an image"))
    assert services.make_avatar_thumbnail(user_id=user.pk) is False


def test_email_verified_flag_reaches_the_public_profile(make_user, django_capture_on_commit_callbacks):
    from profiles import selectors

    user = make_user("checked")
    assert selectors.get_public_profile(username="checked")["verified"] is False
    with django_capture_on_commit_callbacks(execute=True):
        services.set_email_verified(user_id=user.pk)
    assert selectors.get_public_profile(username="checked")["verified"] is True


def test_match_preferences_and_cards(make_user):
    from profiles import selectors
    from seendr.identity import Identity, for_user

    user = make_user("pref", country="JP", languages=["ja"], interests=["anime"], display_name="Pref")
    assert selectors.get_match_preferences(user_id=user.pk) == {
        "interests": ["anime"],
        "languages": ["ja"],
        "country": "JP",
    }
    assert selectors.get_card(identity=for_user(user)) == {
        "name": "Pref",
        "guest": False,
        "country": "JP",
        "interests": ["anime"],
        "likes": 0,
        "username": "pref",
        "verified": False,
    }
    guest = Identity(id="g" + "1" * 24, name="Quiet Otter 123", guest=True)
    assert selectors.get_card(identity=guest) == {
        "name": "Quiet Otter 123",
        "guest": True,
        "country": "",
        "interests": [],
        "likes": 0,
        "username": "",
        "verified": False,
    }
