"""Clients for the state Redis (pool, presence, leaderboards, limits) and the Lua loader.

The cache role goes through Django's cache framework (django-redis); the channels and broker
roles belong to their libraries. This module serves the state role, synchronously for
services called from views, tasks and commands, and asynchronously for consumers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import weakref
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from django.conf import settings


def _client_kwargs() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "health_check_interval": 30,
    }


@functools.cache
def state() -> redis.Redis:
    """The shared synchronous client (it holds a thread-safe connection pool)."""
    return redis.Redis.from_url(settings.REDIS_STATE_URL, **_client_kwargs())


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
    weakref.WeakKeyDictionary()
)


def astate() -> redis.asyncio.Redis:
    """An asyncio client for the running event loop (asyncio connections are loop-bound)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        # A bounded pool: a burst of sockets waits briefly for a connection instead of
        # opening thousands against Redis.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_STATE_URL,
            max_connections=settings.REDIS_STATE_MAX_CONNECTIONS,
            timeout=settings.REDIS_SOCKET_TIMEOUT,
            **_client_kwargs(),
        )
        client = redis.asyncio.Redis(connection_pool=pool)
        _async_clients[loop] = client
    return client


class LuaScript:
    """A Lua script from a file, run by SHA with a fallback to loading it once per server.

    Works with both the sync and the asyncio client, so services and consumers share one
    script object.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = path.read_text()
        self.sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()

    def run(self, client: redis.Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            client.script_load(self.source)
            return client.evalsha(self.sha, len(keys), *keys, *args)

    async def arun(self, client: redis.asyncio.Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            await client.script_load(self.source)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


@functools.cache
def lua(app: str, name: str) -> LuaScript:
    """The script ``<app>/lua/<name>.lua``, read once per process."""
    return LuaScript(Path(settings.BASE_DIR) / app / "lua" / f"{name}.lua")


def scan_delete(client: redis.Redis, pattern: str, batch: int = 500) -> int:
    """Delete every key matching ``pattern`` with SCAN (never KEYS); returns the count."""
    deleted = 0
    pipe = client.pipeline(transaction=False)
    pending = 0
    for key in client.scan_iter(match=pattern, count=batch):
        pipe.unlink(key)
        pending += 1
        if pending >= batch:
            deleted += sum(pipe.execute())
            pending = 0
    if pending:
        deleted += sum(pipe.execute())
    return deleted
