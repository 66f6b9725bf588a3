"""Dependency checks for /readyz: each answers True/False within a short timeout."""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor

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
    """Every dependency, the Redis roles in parallel: a hung server costs one timeout, not four.

    Postgres is checked in the calling thread (Django connections are per thread).
    """
    redis_urls = {
        "redis_cache": settings.REDIS_CACHE_URL,
        "redis_state": settings.REDIS_STATE_URL,
        "redis_channels": settings.REDIS_CHANNELS_URL,
        "broker": settings.CELERY_BROKER_URL,
    }
    with ThreadPoolExecutor(max_workers=len(redis_urls), thread_name_prefix="readyz") as pool:
        # Each check runs in a copy of this context, so its log lines keep the request id.
        futures = {
            name: pool.submit(contextvars.copy_context().run, _redis_ok, url)
            for name, url in redis_urls.items()
        }
        results = {"postgres": _postgres_ok()}
        results.update({name: future.result() for name, future in futures.items()})
    return results
