"""The video chat page. Everything live happens over the ``/ws/chat/`` WebSocket."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts import identity as identities

logger = logging.getLogger(__name__)

WS_PATH = "/ws/chat/"


def _prefilled_interests(user_id: int | None) -> list[str]:
    """The account's saved interests, so Start works with one click. Guests type their own."""
    if user_id is None:
        return []
    from profiles import selectors

    prefs = selectors.get_match_preferences(user_id=user_id)
    interests = prefs.get("interests") if isinstance(prefs, dict) else getattr(prefs, "interests", None)
    return [str(tag) for tag in interests or []]


@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    identity = identities.from_request(request)
    if identity is None:
        return redirect("/")
    try:
        interests = _prefilled_interests(identity.user_id)
    except Exception:  # a cold profile store must not keep anyone out of the chat
        logger.warning("could not load match preferences for %s", identity.id, exc_info=True)
        interests = []
    config = {
        "wsPath": WS_PATH,
        "me": identity.public(),
        "interests": interests,
    }
    return render(request, "chat.html", {"chat_config": config, "prefilled_interests": ", ".join(interests)})
