from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model

from profiles import cache

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_circuit():
    cache.reset_circuit()
    yield
    cache.reset_circuit()


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, **profile_fields):
        username = username or f"user{next(_seq)}"
        user = get_user_model().objects.create_user(
            username=username, email=f"{username}@example.com", password="pw-not-used-123"
        )
        if profile_fields:
            interests = profile_fields.pop("interests", None)
            for name, value in profile_fields.items():
                setattr(user.profile, name, value)
            user.profile.save()
            if interests is not None:
                from profiles.services import ensure_interests

                user.profile.interests.set(ensure_interests(names=interests))
        return user

    return make
