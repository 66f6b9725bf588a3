"""A ban acts on HTTP too: the next request of a banned session signs it out and says why."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from moderation import selectors, services
from moderation.forms import refusal_message
from seendr.http import json_error
from seendr.identity import GUEST_SESSION_KEY, user_identity_id


def _refuse_banned(request: HttpRequest) -> HttpResponse | None:
    """Sign out an account or drop a guest whose ban began while its session lived."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is not None and user.is_authenticated:
        if not services.is_banned(identity_id=user_identity_id(user.pk)):
            return None
        ban = selectors.active_ban_for_user(user_id=user.pk)
        logout(request)
        back_to = settings.LOGIN_URL  # the log-in page explains the ban to whoever tries
    elif session is not None and session.get(GUEST_SESSION_KEY):
        guest_id = session[GUEST_SESSION_KEY]
        if not services.is_banned(identity_id=guest_id):
            return None
        ban = selectors.active_ban(identity_id=guest_id)
        session.pop(GUEST_SESSION_KEY, None)
        back_to = "/"
    else:
        return None
    message = refusal_message(ban) if ban is not None else _("This account is suspended.")
    if request.path.startswith("/api/"):
        return json_error(403, "banned", message)
    messages.error(request, message)
    return redirect(back_to)


def banned_sessions(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """A ban acts on HTTP too: the next request of a banned session signs it out and says why.
    One ZSCORE per request with a session; Postgres is read only for a banned one."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(settings.STATIC_URL):
            refused = _refuse_banned(request)
            if refused is not None:
                return refused
        return get_response(request)

    return middleware
