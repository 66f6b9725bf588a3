"""The landing page and the video chat page. Everything live happens over the ``/ws/chat/`` WebSocket."""

from __future__ import annotations

import logging

import redis
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from matching import frames, friends, selectors
from matching.shield import shield_config
from moderation.models import NOTE_MAX_LENGTH
from profiles import interests as interest_tags
from profiles import selectors as profile_selectors
from profiles.countries import COUNTRIES
from seendr import identity as identities
from seendr.translation import backends as translation_backends

logger = logging.getLogger(__name__)

WS_PATH = "/ws/chat/"
# How often the friends page re-reads the list (presence changes within seconds).
FRIENDS_POLL_MS = 4000

# Offered in the chat page's language picker (ISO 639-1); the matcher accepts any such code.
CHAT_LANGUAGES = (
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("it", "Italiano"),
    ("pt", "Português"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("tr", "Türkçe"),
    ("ru", "Русский"),
    ("uk", "Українська"),
    ("ar", "العربية"),
    ("hi", "हिन्दी"),
    ("zh", "中文"),
    ("ja", "日本語"),
    ("ko", "한국어"),
)


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html", {"online": selectors.online_now()})


def _prefilled(user_id: int | None) -> tuple[list[str], str]:
    """The account's saved interests and first language, so Start works with one click."""
    if user_id is None:
        return [], ""
    prefs = profile_selectors.get_match_preferences(user_id=user_id)
    interests = [str(tag) for tag in prefs.get("interests") or []]
    languages = [str(code) for code in prefs.get("languages") or []]
    return interests, languages[0] if languages else ""


def chat_config() -> dict:
    """The limits and interest rules the chat page applies, from their one owner each (the page
    reads them from ``{{ chat_config|json_script:"chat-config" }}`` instead of copying them)."""
    return {
        "limits": {
            "chat_text": frames.MAX_CHAT_CHARS,
            "report_note": NOTE_MAX_LENGTH,
            "max_interests": interest_tags.MAX_COUNT,
            "interest_length": interest_tags.MAX_LENGTH,
        },
        "interest": interest_tags.rules(),
    }


@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    identity = identities.from_request(request)
    if identity is None:
        return redirect("/")
    try:
        interests, lang = _prefilled(identity.user_id)
    except Exception:  # a cold profile store must not keep anyone out of the chat
        logger.warning("could not load match preferences for %s", identity.id, exc_info=True)
        interests, lang = [], ""
    # The matching language defaults to the language of the page when the profile names none.
    ui_language = (get_language() or "en").split("-")[0]
    lang = lang or (ui_language if ui_language in dict(CHAT_LANGUAGES) else "")
    config = {
        "wsPath": WS_PATH,
        "me": identity.public(),
        "interests": interests,
        "language": get_language(),
        # "" (the Translate action hidden), "browser" or "libretranslate": see seendr/translation.
        "translation": translation_backends.mode(),
        **chat_config(),
    }
    context = {
        "chat_config": config,
        "shield_config": shield_config(),
        "prefilled_interests": ", ".join(interests),
        "prefilled_lang": lang,
        "languages": CHAT_LANGUAGES,
        "countries": COUNTRIES,
    }
    return render(request, "chat.html", context)


@require_GET
def friends_page(request: HttpRequest) -> HttpResponse:
    """``/friends/``: the signed-in account's friends, who is online, a Call button for each.

    The list is rendered from the same data as ``GET /api/friends/`` and kept live by polling it.
    A guest is sent to sign up (friends are for accounts); nobody else's list is ever shown.
    """
    if not request.user.is_authenticated:
        messages.info(request, _("Friends are for accounts: sign up to keep the people you meet."))
        return redirect("/accounts/signup/")
    try:
        initial = friends.friend_list(user_id=request.user.pk)
        available = True
    except redis.RedisError:
        logger.warning("friend list unavailable for the page", exc_info=True)
        initial, available = [], False
    config = {"api": "/api/friends/", "friends": initial, "available": available, "pollMs": FRIENDS_POLL_MS}
    context = {
        "friends_config": config,
        "friends": initial,
        "friends_window_minutes": int(friends.window_seconds() // 60),
    }
    return render(request, "friends.html", context)
