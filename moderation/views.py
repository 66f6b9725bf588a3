"""HTTP door to reporting: ``POST /api/matches/<match_id>/report/`` (session auth, CSRF).

Body (JSON or form): ``reason`` (nudity, harassment, spam, underage, other), optional ``note``.
Answers ``{"type": "reported", "new": bool}`` (201 when new, 200 for a repeat), 404 JSON when the
caller was not in that match. Honours ``Idempotency-Key``; limited by ``RATE_LIMITS["report"]``.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from moderation import services
from moderation.models import NOTE_MAX_LENGTH, Reason
from seendr import identity as identities
from seendr.idempotency import idempotent
from seendr.identity import from_request
from seendr.ratelimit import identity_key, rate_limit

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


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
def report_match(request: HttpRequest, match_id: str) -> JsonResponse:
    identity = from_request(request)
    if identity is None:
        return _error(401, "not_authenticated", "Sign in or start as a guest first.")
    data = _payload(request)
    if data is None:
        return _error(400, "bad_json", "The body must be a JSON object.")
    reason = data.get("reason")
    note = data.get("note") or ""
    if not isinstance(reason, str) or reason not in Reason.values:
        return _error(400, "bad_reason", f"reason must be one of: {', '.join(Reason.values)}.")
    if not isinstance(note, str) or len(note) > NOTE_MAX_LENGTH:
        return _error(400, "bad_note", f"note must be text of at most {NOTE_MAX_LENGTH} characters.")
    if not identities.is_match_id(match_id):
        return _error(404, "not_found", "No such match.")

    from matching.selectors import match_partner

    partner = match_partner(match_id=match_id, identity_id=identity.id)
    if partner is None:
        return _error(404, "not_found", "No such match, or you were not in it.")
    try:
        created = services.report(
            match_id=match_id, reporter=identity, reported_id=partner, reason=reason, note=note
        )
    except services.InvalidReport as exc:
        return _error(400, exc.code, exc.message)
    return JsonResponse({"type": "reported", "new": created}, status=201 if created else 200)
