"""``POST /api/translate/``: the chat page's Translate action on a received line.

Body ``{"text": str, "target": str, "source": str?}`` (``target`` an interface language;
``source`` as the chat frame's ``lang`` said, else detected). Answers
``{"translation", "source", "target"}``, or a JSON error: 400 ``bad_json``/``bad_field``,
401 ``not_authenticated``, 404 ``translation_off`` (the server translates nothing),
422 ``translation_refused`` (a language pair the service does not offer), 429 ``rate_limited``,
503 ``translation_unavailable`` (the service is down, slow or busy). The line's text is never logged.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from matching.frames import MAX_CHAT_CHARS
from seendr import identity as identities
from seendr.i18n import supported_language
from seendr.ratelimit import identity_key, rate_limit
from seendr.translation import services as translation

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, retry_after: int | None = None) -> JsonResponse:
    body: dict = {"code": code, "message": message}
    if retry_after is not None:
        body["retry_after"] = retry_after
    response = JsonResponse({"error": body}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _language(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 20:
        return None
    return value.strip().lower()


@require_POST
@rate_limit("translate", key=identity_key)
def translate_line(request: HttpRequest) -> JsonResponse:
    if identities.from_request(request) is None:
        return _error(401, "not_authenticated", _("Sign in or start as a guest first."))
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return _error(400, "bad_json", _("The body must be a JSON object."))
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT_CHARS:
        return _error(
            400, "bad_field", _("text: a chat line of 1 to %(count)d characters") % {"count": MAX_CHAT_CHARS}
        )
    target = supported_language(_language(body.get("target")))
    if target is None:
        return _error(400, "bad_field", _("target: one of the site's languages"))
    source = _language(body.get("source"))
    try:
        result = translation.translate_line(text=text, target=target, source=source)
    except translation.TranslationOff:
        return _error(404, "translation_off", _("Translation is not offered on this site."))
    except translation.TranslationError as exc:
        log.warning("translation failed: %s", exc.reason)  # the reason only, never the line
        if exc.refused:
            return _error(422, "translation_refused", _("This language cannot be translated here."))
        return _error(
            503,
            "translation_unavailable",
            _("Translation is temporarily unavailable. Try again shortly."),
            retry_after=exc.retry_after or 5,
        )
    return JsonResponse({"translation": result.text, "source": result.source, "target": target})
