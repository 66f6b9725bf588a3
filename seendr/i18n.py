"""The interface language outside Django's request cycle, and the one test of a language code.

``LocaleMiddleware`` picks the language of an HTTP request (cookie, then ``Accept-Language``).
WebSocket connections never pass through it, so the chat socket asks :func:`language_from_scope`,
which reads the same cookie and header from the ASGI scope in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header


def supported_language(code: str | None) -> str | None:
    """The code of settings.LANGUAGES that serves ``code`` ("pt-BR" -> "pt-br", "de-AT" -> "de")."""
    if not code or len(code) > 20:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def language_from_headers(*, cookie: str | None, accept_language: str | None) -> str:
    """The interface language for a client: its switcher cookie, its browser's list, or the default."""
    chosen = supported_language(cookie)
    if chosen:
        return chosen
    for code, _quality in parse_accept_lang_header(accept_language or ""):
        if code == "*":
            break
        chosen = supported_language(code)
        if chosen:
            return chosen
    return settings.LANGUAGE_CODE


def language_from_scope(scope: Mapping[str, Any]) -> str:
    """The interface language of an ASGI connection (the chat WebSocket)."""
    cookies = scope.get("cookies") or {}
    accept = None
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            accept = value.decode("latin-1")
    return language_from_headers(cookie=cookies.get(settings.LANGUAGE_COOKIE_NAME), accept_language=accept)
