"""JSON API of profiles (PROTOCOL.md): ``GET /api/profiles/<username>/``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from profiles import selectors


def error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def profile_detail(request: HttpRequest, username: str) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        response = error("method_not_allowed", "Only GET is offered here.", 405)
        response["Allow"] = "GET, HEAD"
        return response
    profile = selectors.get_public_profile(username=username)
    if profile is None:
        return error("not_found", "No profile with this username.", 404)
    return JsonResponse(profile)
