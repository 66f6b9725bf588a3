"""JSON API of profiles (PROTOCOL.md): ``GET /api/profiles/<username>/``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from profiles import selectors
from seendr.http import json_error, method_not_allowed


def profile_detail(request: HttpRequest, username: str) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET", "HEAD")
    profile = selectors.get_public_profile(username=username)
    if profile is None:
        return json_error(404, "not_found", _("No profile with this username."))
    return JsonResponse(profile)
