"""Reads of profiles and friendships. Everything public goes through the profile cache."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, Q, When

from profiles import cache
from profiles.models import Friendship, Profile
from seendr.identity import Identity

PUBLIC_FIELDS = ("username", "display_name", "bio", "country", "languages", "interests", "likes", "verified")


def public_shape(record: dict[str, Any]) -> dict[str, Any]:
    """Exactly the fields of ``GET /api/profiles/<username>/``."""
    return {field: record[field] for field in PUBLIC_FIELDS}


def get_profile_record(*, username: str) -> dict[str, Any] | None:
    """The full cached record (public fields plus ``user_id`` and ``avatar``) for pages."""
    return cache.get_by_username(username)


def get_public_profile(*, username: str) -> dict[str, Any] | None:
    """The public profile of an active account, or None (guests have no profile)."""
    record = cache.get_by_username(username)
    return public_shape(record) if record else None


def _card(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": record["display_name"],
        "guest": False,
        "country": record["country"],
        "interests": record["interests"],
        "likes": record["likes"],
        # The page links the partner's public profile and shows the verified badge.
        "username": record["username"],
        "verified": bool(record.get("verified")),
    }


def empty_card(*, name: str, guest: bool) -> dict[str, Any]:
    """The partner card of someone with no profile to show (a guest, or a record out of reach)."""
    return {
        "name": name,
        "guest": guest,
        "country": "",
        "interests": [],
        "likes": 0,
        "username": "",
        "verified": False,
    }


def get_card(*, identity: Identity) -> dict[str, Any]:
    """The partner card of the WebSocket ``matched`` frame."""
    if identity.guest or identity.user_id is None:
        return empty_card(name=identity.name, guest=True)
    record = cache.get_by_user_id(identity.user_id)
    if record is None:
        return empty_card(name=identity.name, guest=False)
    return _card(record)


def get_cards(*, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Cached records of many users (one Redis round trip, misses in one query).

    Each value has ``user_id``, ``username``, ``display_name`` and the other public fields;
    inactive or unknown users are absent.
    """
    return cache.get_many(user_ids)


def get_match_preferences(*, user_id: int) -> dict[str, Any]:
    """Interests, languages and country of an account, to prefill the chat page."""
    record = cache.get_by_user_id(user_id)
    if record is None:
        return {"interests": [], "languages": [], "country": ""}
    return {"interests": record["interests"], "languages": record["languages"], "country": record["country"]}


def recently_active_user_ids(*, limit: int) -> list[int]:
    """Active accounts, the most recently active first (never-active ones last, newest first)."""
    return list(
        Profile.objects.filter(user__is_active=True)
        .order_by(F("last_active").desc(nulls_last=True), "-created")
        .values_list("user_id", flat=True)[:limit]
    )


def _either(user_id: int) -> Q:
    return Q(user_a_id=user_id) | Q(user_b_id=user_id)


def friend_user_ids(*, user_id: int) -> list[int]:
    """The accounts befriended with ``user_id``, the newest friendship first."""
    friend = Case(When(user_a_id=user_id, then=F("user_b_id")), default=F("user_a_id"))
    return list(
        Friendship.objects.filter(_either(user_id)).annotate(friend=friend).values_list("friend", flat=True)
    )


def are_friends(*, user_id: int, other_user_id: int) -> bool:
    return Friendship.objects.filter(
        Q(user_a_id=user_id, user_b_id=other_user_id) | Q(user_a_id=other_user_id, user_b_id=user_id)
    ).exists()
