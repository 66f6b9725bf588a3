"""The language switcher's door, and an account's saved language applied at log-in.

Django's ``set_language`` keeps the choice in a cookie; an account also keeps it on its profile,
so it follows the person to another browser the next time they log in.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from profiles import services as profile_services
from profiles.models import Profile
from seendr.i18n import supported_language


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    response = django_set_language(request)
    language = supported_language(request.POST.get("language"))
    if language and request.user.is_authenticated:
        profile_services.set_ui_language(user_id=request.user.pk, language=language)
    return response


def remember_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def apply_saved_language(request: HttpRequest, user: AbstractBaseUser, response: HttpResponse) -> None:
    """At log-in: the account's saved language wins; without one, this browser's choice is saved."""
    saved = Profile.objects.filter(user_id=user.pk).values_list("ui_language", flat=True).first()
    saved = supported_language(saved)
    if saved:
        remember_cookie(response, saved)
        return
    chosen = supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if chosen:
        profile_services.set_ui_language(user_id=user.pk, language=chosen)
