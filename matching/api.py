"""JSON API of the matching app: the online counts, and every ``/api/matches/<id>/*`` endpoint.

Post-match actions over HTTP (the same actions as the socket's frames, see ``matching.actions``):

* ``POST /api/matches/<id>/like/``: like the partner of that match (once per match). JSON CSRF,
  ``Idempotency-Key``, limited by ``RATE_LIMITS["like"]``.
* ``POST /api/matches/<id>/report/`` (JSON or form): ``reason`` (nudity, harassment, spam,
  underage, other), optional ``note``. Answers ``{"type": "reported", "new": bool}`` (201 when
  new, 200 for a repeat), 404 JSON when the caller was not in that match. ``Idempotency-Key``;
  limited by ``RATE_LIMITS["report"]``.
"""

from __future__ import annotations

import json
import logging

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from matching import actions, friends, presence, selectors
from matching.types import MatchingUnavailable
from moderation.models import NOTE_MAX_LENGTH, Reason
from seendr import identity as identities
from seendr import ratelimit
from seendr.errors import ServiceError
from seendr.http import json_csrf_protect, json_error, method_not_allowed, service_error_response
from seendr.idempotency import idempotent, request_subject
from seendr.ratelimit import identity_key, rate_limit

log = logging.getLogger(__name__)


@require_GET
def online(request: HttpRequest) -> JsonResponse:
    """``{"online": N, "waiting": N, "in_call": N}``; 503 with a JSON error when Redis is away."""
    try:
        return JsonResponse(presence.counts())
    except (redis.RedisError, MatchingUnavailable):
        log.warning("online counts unavailable", exc_info=True)
        return json_error(503, "unavailable", _("Counts are temporarily unavailable."))


@json_csrf_protect
@idempotent("like")
@rate_limit("like", key=request_subject)
def like(request: HttpRequest, match_id: str) -> HttpResponse:
    if request.method != "POST":
        return method_not_allowed("POST")
    liker = identities.from_request(request)
    if liker is None:
        return json_error(401, "not_authenticated", _("Sign in or start as a guest first."))
    partner_id = selectors.match_partner(match_id=match_id, identity_id=liker.id)
    if partner_id is None:
        return json_error(404, "match_not_found", _("No such match of yours, or it ended too long ago."))
    try:
        created = actions.like_partner(match_id=match_id, liker=liker, partner_id=partner_id)
    except ServiceError as exc:
        return service_error_response(exc)
    if created:
        actions.tell_liked(match_id=match_id, partner_id=partner_id)
    return JsonResponse({"type": "liked", "match_id": match_id, "created": created})


def _payload(request: HttpRequest) -> dict | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


@require_POST
@rate_limit("report", key=identity_key)
@idempotent("report")
def report(request: HttpRequest, match_id: str) -> JsonResponse:
    identity = identities.from_request(request)
    if identity is None:
        return json_error(401, "not_authenticated", _("Sign in or start as a guest first."))
    data = _payload(request)
    if data is None:
        return json_error(400, "bad_json", _("The body must be a JSON object."))
    reason = data.get("reason")
    note = data.get("note") or ""
    if not isinstance(reason, str) or reason not in Reason.values:
        return json_error(
            400, "bad_reason", _("reason must be one of %(reasons)s") % {"reasons": ", ".join(Reason.values)}
        )
    if not isinstance(note, str) or len(note) > NOTE_MAX_LENGTH:
        return json_error(
            400,
            "bad_note",
            _("note must be text of at most %(limit)d characters.") % {"limit": NOTE_MAX_LENGTH},
        )
    if not identities.is_match_id(match_id):
        return json_error(404, "not_found", _("No such match."))
    partner_id = selectors.match_partner(match_id=match_id, identity_id=identity.id)
    if partner_id is None:
        return json_error(404, "not_found", _("No such match, or you were not in it."))
    try:
        created = actions.report_partner(
            match_id=match_id, reporter=identity, partner_id=partner_id, reason=reason, note=note
        )
    except ServiceError as exc:
        return service_error_response(exc)
    return JsonResponse({"type": "reported", "new": created}, status=201 if created else 200)


# --- Friends ---------------------------------------------------------------------------------


def _friends_door(request: HttpRequest, *allowed: str) -> JsonResponse | None:
    """The shared refusals of the friends API: method, account, rate limit (None: go ahead)."""
    if request.method not in allowed:
        return method_not_allowed(*allowed)
    if not request.user.is_authenticated:
        return json_error(401, "needs_account", _("Friends are for accounts: sign up or log in."))
    decision = ratelimit.check(scope="friends_api", subject=f"u{request.user.pk}")
    if not decision.allowed:
        return ratelimit.too_many_requests(request, decision)
    return None


def friend_list(request: HttpRequest) -> JsonResponse:
    """``GET /api/friends/``: ``{"friends": [{"username", "name", "online", "in_call"}]}``, online first.

    Only the signed-in account's own friends: nobody can ask about anyone else's presence.
    """
    refused = _friends_door(request, "GET", "HEAD")
    if refused is not None:
        return refused
    try:
        return JsonResponse({"friends": friends.friend_list(user_id=request.user.pk)})
    except redis.RedisError:
        log.warning("friend list unavailable", exc_info=True)
        return json_error(503, "unavailable", _("Your friends list is temporarily unavailable."))


def friend_detail(request: HttpRequest, username: str) -> HttpResponse:
    """``DELETE /api/friends/<username>/``: ends the friendship for both at once; 204, or 404.

    CSRF is checked by the middleware (a refusal answers JSON under ``/api/``).
    """
    refused = _friends_door(request, "DELETE")
    if refused is not None:
        return refused
    if not friends.remove_friend(user_id=request.user.pk, username=username):
        return json_error(404, "not_found", _("No friend with this username."))
    return HttpResponse(status=204)
