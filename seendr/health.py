"""Dependency checks for /readyz: each answers True/False within a short timeout."""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from django.db import connection

from seendr.redis_state import client_for_url, url_list

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 1.0


def _redis_ok(url: str) -> bool:
    client = None
    try:
        # A cluster client connects while it is built, so that happens inside the try too.
        client = client_for_url(
            url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
        )
        return bool(client.ping())
    except redis.RedisError as exc:
        log.warning("readiness: redis %s unreachable: %s", url.rsplit("@", 1)[-1], exc)
        return False
    finally:
        if client is not None:
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
    roles = {
        "redis_cache": [settings.REDIS_CACHE_URL],
        "redis_state": [settings.REDIS_STATE_URL],
        # The sharded channel layer is ready only when every shard answers.
        "redis_channels": url_list(settings.REDIS_CHANNELS_URL),
        "broker": [settings.CELERY_BROKER_URL],
    }
    checks = [(name, url) for name, urls in roles.items() for url in urls]
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz") as pool:
        # Each check runs in a copy of this context, so its log lines keep the request id.
        futures = [
            (name, pool.submit(contextvars.copy_context().run, _redis_ok, url)) for name, url in checks
        ]
        results = {"postgres": _postgres_ok()}
        for name, future in futures:
            results[name] = results.get(name, True) and future.result()
    return results
