"""Clients for the state Redis (pool, presence, leaderboards, limits), the Lua loader (with the
one NoScript fallback) and the one circuit breaker every Redis caller that degrades shares.

The cache role goes through Django's cache framework (django-redis); the channels and broker
roles belong to their libraries. This module serves the state role, synchronously for
services called from views, tasks and commands, and asynchronously for consumers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
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
    script object. In a pipeline, :meth:`queue` the call and send the batch with
    :func:`execute_with_scripts` / :func:`aexecute_with_scripts`, which carry the same fallback.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = path.read_text()
        self.sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()

    def run(self, client: redis.Redis, keys: list[str], args: list[Any]) -> Any:
        return execute_with_scripts(client, [self], lambda: [self._call(client, keys, args)])[0]

    async def arun(self, client: redis.asyncio.Redis, keys: list[str], args: list[Any]) -> Any:
        async def call() -> list[Any]:
            try:
                return [await client.evalsha(self.sha, len(keys), *keys, *args)]
            except redis.exceptions.NoScriptError as exc:
                return [exc]

        return (await aexecute_with_scripts(client, [self], call))[0]

    def _call(self, client: redis.Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError as exc:
            return exc

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Add a call of this script to a pipeline (sync or asyncio)."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)


def _first_error(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def _lacks_script(replies: list[Any]) -> bool:
    return any(isinstance(r, redis.exceptions.NoScriptError) for r in replies)


def execute_with_scripts(
    client: redis.Redis, scripts: Sequence[LuaScript], send: Callable[[], list[Any]]
) -> list[Any]:
    """Run ``send`` (queue EVALSHAs of ``scripts``, execute with ``raise_on_error=False``, return
    the replies). A server that lacks a script (a restart, a failover) gets every script loaded
    and the batch sent once more; the scripts' writes must therefore be idempotent. Then the
    first error reply, if any, is raised."""
    replies = send()
    if _lacks_script(replies):
        for script in scripts:
            client.script_load(script.source)
        replies = send()
    return _first_error(replies)


async def aexecute_with_scripts(
    client: redis.asyncio.Redis, scripts: Sequence[LuaScript], send: Callable[[], Awaitable[list[Any]]]
) -> list[Any]:
    """The asyncio twin of :func:`execute_with_scripts`."""
    replies = await send()
    if _lacks_script(replies):
        for script in scripts:
            await client.script_load(script.source)
        replies = await send()
    return _first_error(replies)


class CircuitBreaker:
    """After a failure of one Redis server, callers skip it for ``seconds`` instead of paying a
    timeout per request; then one caller tries again. Keyed by the server's URL, per process."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_open(self, target: str) -> bool:
        until = self._open_until.get(target)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        with self._lock:
            if self._open_until.get(target) == until:
                del self._open_until[target]
        return False

    def trip(self, target: str) -> bool:
        """Open (or keep open) the breaker for ``target``; True if it was closed until now."""
        with self._lock:
            first = target not in self._open_until
            self._open_until[target] = time.monotonic() + self.seconds
        return first

    def reset(self) -> None:
        """Forget every failure (tests, and commands run after an outage)."""
        with self._lock:
            self._open_until.clear()


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
