"""Translate one chat line: a Redis cache in front of the configured backend.

The cache key is a hash of the text with the language pair (``keys.translation``), so the same
line asked for by many people costs the backend once, and a Redis dump shows no chat text in
its keys. A cache outage only costs the cache (logged); the backend still answers.
Nothing here logs the text.
"""

from __future__ import annotations

import hashlib
import json
import logging

import redis
from django.conf import settings
from django_redis import get_redis_connection

from seendr import keys
from seendr.translation import detection
from seendr.translation.backends import Translated, TranslationError, server_backend

log = logging.getLogger(__name__)

__all__ = ["Translated", "TranslationError", "TranslationOff", "translate_line"]


class TranslationOff(Exception):
    """The server translates nothing (TRANSLATION_BACKEND is off or "browser")."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _cache():
    return get_redis_connection("default")


def _cached(key: str) -> Translated | None:
    try:
        raw = _cache().get(key)
    except redis.RedisError as exc:
        log.warning("translation cache unreadable: %s", type(exc).__name__)
        return None
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Translated(text=str(data["text"]), source=str(data["source"]))
    except (ValueError, KeyError, TypeError):
        return None


def _store(key: str, result: Translated) -> None:
    try:
        _cache().set(
            key,
            json.dumps({"text": result.text, "source": result.source}, ensure_ascii=False),
            ex=settings.TRANSLATION_CACHE_SECONDS,
        )
    except redis.RedisError as exc:
        log.warning("translation cache unwritable: %s", type(exc).__name__)


def translate_line(*, text: str, target: str, source: str | None = None) -> Translated:
    """``text`` in ``target``. ``source`` None: detected offline, else left to the backend ("auto").

    Raises TranslationOff when the server does not translate, TranslationError when the backend
    failed (``refused`` for a pair it does not offer).
    """
    backend = server_backend()
    if backend is None:
        raise TranslationOff
    source = source or detection.language_of(text) or "auto"
    if source != "auto" and source.split("-")[0] == target.split("-")[0]:
        return Translated(text=text, source=source)
    key = keys.translation(_digest(text), source, target)
    hit = _cached(key)
    if hit is not None:
        return hit
    result = backend.translate(text=text, source=source, target=target)
    _store(key, result)
    return result
