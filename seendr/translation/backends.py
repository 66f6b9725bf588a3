"""Translation services behind one small interface, chosen by ``settings.TRANSLATION_BACKEND``.

``""`` (the default): off, the chat page hides its Translate action. ``"browser"``: the page uses
the browser's built-in Translator API where it exists and the server translates nothing.
``"libretranslate"``: :class:`LibreTranslate`, an HTTP client of a LibreTranslate server
(``LIBRETRANSLATE_URL``, optional ``LIBRETRANSLATE_API_KEY``); the page still prefers the
browser's own translator where it has one, so a line leaves the device only when it must.

Errors never carry the text being translated: the text is someone's chat line.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

OFF, BROWSER, LIBRETRANSLATE = "", "browser", "libretranslate"
# A LibreTranslate answer is one translated chat line: anything longer is not one.
MAX_RESPONSE_BYTES = 64 * 1024


class TranslationError(Exception):
    """The backend could not translate. ``refused``: it rejected the request itself (an unknown
    language pair); otherwise it is unavailable (down, slow, overloaded), maybe for ``retry_after``."""

    def __init__(self, reason: str, *, refused: bool = False, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused
        self.retry_after = retry_after


@dataclass(frozen=True)
class Translated:
    text: str
    source: str  # the language the backend translated from (detected when asked with "auto")


class Backend(Protocol):
    def translate(self, *, text: str, source: str, target: str) -> Translated: ...


def _libretranslate_code(language: str) -> str:
    # LibreTranslate names Portuguese "pt" and Chinese "zh"; our codes may carry a region.
    return language.split("-")[0].lower() if language != "auto" else language


class LibreTranslate:
    """POST ``/translate`` of the LibreTranslate API: ``{q, source, target, format, api_key}`` in,
    ``{"translatedText", "detectedLanguage"?}`` out; errors are ``{"error": "..."}`` with 400
    (bad request or language), 403 (bad or missing API key), 429 (its own rate limit), 500."""

    def __init__(self, *, url: str, api_key: str = "", timeout: float = 2.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured("LIBRETRANSLATE_URL must be an http(s) URL")
        self.endpoint = url.rstrip("/") + "/translate"
        self.api_key = api_key
        self.timeout = timeout

    def translate(self, *, text: str, source: str, target: str) -> Translated:
        body = {"q": text, "source": _libretranslate_code(source), "target": _libretranslate_code(target)}
        body["format"] = "text"
        if self.api_key:
            body["api_key"] = self.api_key
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.endpoint,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError:
            raise TranslationError("timeout") from None
        except urllib.error.URLError as exc:
            # A connect that timed out arrives wrapped in URLError.
            reason = "timeout" if isinstance(exc.reason, TimeoutError) else "unreachable"
            raise TranslationError(reason) from None
        except OSError as exc:
            raise TranslationError(f"unreachable: {type(exc).__name__}") from None
        if len(payload) > MAX_RESPONSE_BYTES:
            raise TranslationError("oversized answer")
        try:
            data = json.loads(payload)
            translated = data["translatedText"]
        except (ValueError, KeyError, TypeError):
            raise TranslationError("malformed answer") from None
        if not isinstance(translated, str):
            raise TranslationError("malformed answer")
        detected = data.get("detectedLanguage") if isinstance(data, dict) else None
        detected_code = detected.get("language") if isinstance(detected, dict) else None
        return Translated(text=translated, source=str(detected_code or source))

    @staticmethod
    def _http_error(exc: urllib.error.HTTPError) -> TranslationError:
        status = exc.code
        if status == 400:
            return TranslationError("refused (400)", refused=True)
        if status == 429:
            retry = exc.headers.get("Retry-After", "") if exc.headers else ""
            return TranslationError("rate limited (429)", retry_after=int(retry) if retry.isdigit() else None)
        return TranslationError(f"HTTP {status}")


def mode() -> str:
    """The configured backend name; an unknown one is a deployment error, caught at start-up."""
    name = (settings.TRANSLATION_BACKEND or "").strip().lower()
    if name not in (OFF, BROWSER, LIBRETRANSLATE):
        raise ImproperlyConfigured(
            f"TRANSLATION_BACKEND must be '', 'browser' or 'libretranslate', not {name!r}"
        )
    return name


def server_backend() -> Backend | None:
    """The backend that translates on the server, or None when the server translates nothing."""
    if mode() != LIBRETRANSLATE:
        return None
    if not settings.LIBRETRANSLATE_URL:
        raise ImproperlyConfigured("TRANSLATION_BACKEND=libretranslate needs LIBRETRANSLATE_URL")
    return LibreTranslate(
        url=settings.LIBRETRANSLATE_URL,
        api_key=settings.LIBRETRANSLATE_API_KEY,
        timeout=settings.LIBRETRANSLATE_TIMEOUT_SECONDS,
    )
