"""Who is on the other end: an account or a guest, behind one small value type.

Identity ids are colon-free so they fit Redis keys and Channels group names alike:
``u<user pk>`` for accounts, ``g<hex>`` for guests. This module owns their format and the reads
of guest records; ``accounts`` owns creating guests (and sign-up, log-in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from seendr import keys
from seendr.redis_state import state

GUEST_SESSION_KEY = "seendr_guest_id"
GUEST_TTL_SECONDS = 60 * 60 * 24

# Columns holding an identity id are this wide (the longest valid id is 39 characters).
IDENTITY_ID_MAX_LENGTH = 40
IDENTITY_RE = re.compile(r"^(u[0-9]{1,20}|g[0-9a-f]{8,38})\Z")
MATCH_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,32}\Z")


@dataclass(frozen=True, slots=True)
class Identity:
    id: str
    name: str
    guest: bool
    user_id: int | None = None

    def public(self) -> dict:
        """The ``you`` object of the WebSocket ``hello`` frame."""
        return {"id": self.id, "name": self.name, "guest": self.guest}


def is_identity_id(value: Any) -> bool:
    return isinstance(value, str) and IDENTITY_RE.match(value) is not None


def is_match_id(value: Any) -> bool:
    return isinstance(value, str) and MATCH_ID_RE.match(value) is not None


def user_identity_id(user_id: int) -> str:
    return f"u{user_id}"


def user_id_from_identity(identity_id: str) -> int | None:
    """The account pk behind an identity id, or None for a guest."""
    if identity_id.startswith("u") and identity_id[1:].isdigit():
        return int(identity_id[1:])
    return None


def for_user(user) -> Identity:
    profile = getattr(user, "profile", None)
    name = (getattr(profile, "display_name", "") or user.get_username()) if profile else user.get_username()
    return Identity(id=user_identity_id(user.pk), name=name, guest=False, user_id=user.pk)


# --- Guests (created by accounts.guests; read here by everyone) ---------------------------------


def get_guest(*, guest_id: str) -> Identity | None:
    name = state().hget(keys.guest(guest_id), "name")
    if name is None:
        return None
    return Identity(id=guest_id, name=name, guest=True)


def guest_ip_hash(*, guest_id: str) -> str | None:
    return state().hget(keys.guest(guest_id), "ip_hash")


# --- From a request, a socket scope, or an id ---------------------------------------------------


def from_request(request: HttpRequest) -> Identity | None:
    """The identity of a request: the signed-in account first, else a live guest session."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return for_user(user)
    guest_id = request.session.get(GUEST_SESSION_KEY)
    if guest_id:
        return get_guest(guest_id=guest_id)
    return None


def from_scope(scope: dict) -> Identity | None:
    """The account or live guest behind a WebSocket scope (AuthMiddlewareStack), else None."""
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return for_user(user)
    session = scope.get("session")
    guest_id = session.get(GUEST_SESSION_KEY) if session is not None else None
    if isinstance(guest_id, str) and guest_id:
        return get_guest(guest_id=guest_id)
    return None


def for_id(identity_id: str) -> Identity | None:
    """An Identity from its id alone: the account (with its display name) or the live guest."""
    user_id = user_id_from_identity(identity_id)
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        return for_user(user) if user is not None else None
    if identity_id.startswith("g"):
        return get_guest(guest_id=identity_id)
    return None
