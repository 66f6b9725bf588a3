"""Dependency checks for /readyz: each answers True/False within a short timeout."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 1.0


def _redis_ok(url: str) -> bool:
    client = redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except redis.RedisError as exc:
        log.warning("readiness: redis %s unreachable: %s", url.rsplit("@", 1)[-1], exc)
        return False
    finally:
        client.close()


def _postgres_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as exc:  # noqa: BLE001 - any database error means "not ready"
        log.warning("readiness: postgres unreachable: %s", exc)
        connection.close_if_unusable_or_obsolete()
        return False


def check_all() -> dict[str, bool]:
    return {
        "postgres": _postgres_ok(),
        "redis_cache": _redis_ok(settings.REDIS_CACHE_URL),
        "redis_state": _redis_ok(settings.REDIS_STATE_URL),
        "redis_channels": _redis_ok(settings.REDIS_CHANNELS_URL),
        "broker": _redis_ok(settings.CELERY_BROKER_URL),
    }
