"""Who is on the other end: an account or a guest, behind one small value type.

Identity ids are colon-free so they fit Redis keys and Channels group names alike:
``u<user pk>`` for accounts, ``g<hex>`` for guests.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

GUEST_SESSION_KEY = "seendr_guest_id"


@dataclass(frozen=True, slots=True)
class Identity:
    id: str
    name: str
    guest: bool
    user_id: int | None = None

    def public(self) -> dict:
        """The ``you`` object of the WebSocket ``hello`` frame."""
        return {"id": self.id, "name": self.name, "guest": self.guest}


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


def from_request(request: HttpRequest) -> Identity | None:
    """The identity of a request: the signed-in account first, else a live guest session."""
    from accounts import guests

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return for_user(user)
    guest_id = request.session.get(GUEST_SESSION_KEY)
    if guest_id:
        return guests.get_guest(guest_id=guest_id)
    return None
