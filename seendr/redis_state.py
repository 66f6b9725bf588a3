"""Clients for the state Redis (pool, presence, leaderboards, limits), the Lua loader (with the
one NoScript fallback) and the one circuit breaker every Redis caller that degrades shares.

The cache role goes through Django's cache framework (django-redis); the channels and broker
roles belong to their libraries. This module serves the state role, synchronously for
services called from views, tasks and commands, and asynchronously for consumers.

The state role runs on one server (``redis://host:port/db``), on a primary found through
Sentinel (``redis+sentinel://host:port[,host:port...]/<service>[/db]``: the Sentinels, then the
monitored service's name), or on a Redis Cluster (``redis+cluster://host:port[,host:port...]``,
``rediss+cluster://`` with TLS: seed nodes, the rest of the cluster is discovered). On a Cluster
every key one script or MULTI touches shares a hash tag (``seendr.keys`` builds them so);
callers need not know which kind they talk to.
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
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from django.conf import settings

from seendr import coalesce

# A cluster URL's scheme and the plain scheme of its node connections.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# A Sentinel URL's scheme and whether connections to the primary use TLS.
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
DEFAULT_PORT = 6379

StateClient = redis.Redis | redis.cluster.RedisCluster
AsyncStateClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster


def _split_multi_host(url: str) -> SplitResult:
    """``urlsplit`` for Sentinel and Cluster URLs, whose netloc lists several hosts.

    Such a netloc is not one URL authority, and Pythons with the bracketed-netloc check (security
    releases since 2024) refuse an IPv6 host after the first (``h1:7000,[::1]:7002``). The netloc
    is cut off here by hand, up to the first ``/`` or ``?``; the rest is an ordinary URL tail."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return urlsplit(url)
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    tail = urlsplit("x://h" + rest[cut:])
    return SplitResult(scheme.lower(), rest[:cut], tail.path, tail.query, tail.fragment)


def is_cluster_url(url: str) -> bool:
    return _split_multi_host(url).scheme in CLUSTER_SCHEMES


def _host_list(hosts: str) -> list[tuple[str, int]]:
    found = []
    for item in filter(None, hosts.split(",")):
        host, colon, port = item.rpartition(":")
        if not colon or not port.isdigit():
            host, port = item, str(DEFAULT_PORT)
        found.append((host, int(port)))
    return found


def sentinel_target(url: str) -> tuple[list[tuple[str, int]], str, dict[str, Any]]:
    """Split a Sentinel URL into the Sentinels' (host, port), the monitored service's name, and
    the options of connections to the primary (database, credentials, TLS)."""
    parts = _split_multi_host(url)
    if parts.scheme not in SENTINEL_SCHEMES:
        raise ValueError(f"not a Sentinel URL (expected {' or '.join(SENTINEL_SCHEMES)}://)")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    sentinels = _host_list(hosts)
    service, _, db = parts.path.strip("/").partition("/")
    if not sentinels or not service:
        raise ValueError("a Sentinel URL names host:port[,host:port...]/<service>[/db]")
    options: dict[str, Any] = {"db": int(db or 0)}
    if userinfo:
        username, colon, password = userinfo.partition(":")
        options.update(username=unquote(username) or None, password=unquote(password) if colon else None)
    if SENTINEL_SCHEMES[parts.scheme]:
        options["ssl"] = True
    return sentinels, service, options


def cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]]:
    """Split a cluster URL into a plain URL of its first seed node (credentials, TLS and query
    options included) and every seed node as (host, port)."""
    parts = _split_multi_host(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"not a cluster URL (expected {' or '.join(CLUSTER_SCHEMES)}://)")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    seeds = _host_list(hosts)
    if not seeds:
        raise ValueError("a cluster URL names at least one host:port")
    first = f"{seeds[0][0]}:{seeds[0][1]}"
    plain = urlunsplit((CLUSTER_SCHEMES[parts.scheme], userinfo + at + first, parts.path, parts.query, ""))
    return plain, seeds


def client_for_url(url: str, **kwargs: Any) -> StateClient:
    """A synchronous client for a single-server, Sentinel or cluster URL.

    The cluster client connects at once to learn the slot map; an unreachable cluster raises
    ``redis.ConnectionError`` like an unreachable server, so callers handle one error type.
    """
    if _split_multi_host(url).scheme in SENTINEL_SCHEMES:
        sentinels, service, options = sentinel_target(url)
        return redis.sentinel.Sentinel(sentinels, sentinel_kwargs=_socket_options(kwargs)).master_for(
            service, **options, **kwargs
        )
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **kwargs)
    plain, seeds = cluster_seeds(url)
    try:
        return redis.cluster.RedisCluster.from_url(
            plain, startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in seeds[1:]], **kwargs
        )
    except redis.exceptions.RedisClusterException as exc:
        raise redis.ConnectionError(f"Redis Cluster unreachable: {exc}") from exc


def _socket_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """For connections to the Sentinels themselves: the same timeouts, no credentials (those
    are the primary's)."""
    return {k: v for k, v in kwargs.items() if k.startswith("socket_")}


class _AsyncCluster(redis.asyncio.cluster.RedisCluster):
    """The asyncio cluster client, which learns the slot map on its first command; an
    unreachable cluster then raises ``redis.ConnectionError`` like an unreachable server."""

    async def initialize(self) -> _AsyncCluster:
        try:
            return await super().initialize()
        except redis.exceptions.RedisClusterException as exc:
            raise redis.ConnectionError(f"Redis Cluster unreachable: {exc}") from exc

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        # Learn the slot map before anything else: commands that arrive together on a fresh
        # client otherwise race its first slot-map build, and connections in flight are closed
        # under them (redis-py 7.4.1: AttributeError and "Connection closed by server" in every
        # command of the burst; seendr/tests/test_redis_cluster.py holds it).
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)


class QuickCheckoutPool(redis.asyncio.BlockingConnectionPool):
    """A bounded pool that hands out a clean connection without probing its socket.

    redis-py checks every connection it hands out for unread data with a zero-timeout read: a
    timer, a future and a cancellation per command, about a tenth of a busy web process's CPU
    (docs/benchmarks.md, "Live loop"). Unread data only appears when a read is abandoned, and
    redis-py disconnects a connection whose read is interrupted. So a connection that is
    connected, with nothing buffered in its parser or stream and no end of stream seen, is
    handed out as it is; any other gets redis-py's own check and reconnect.
    """

    async def ensure_connection(self, connection: redis.asyncio.connection.AbstractConnection) -> None:
        if not _clean(connection):
            await super().ensure_connection(connection)


def _clean(connection: redis.asyncio.connection.AbstractConnection) -> bool:
    """Connected with nothing read and not yet parsed (hiredis parser; others are never clean)."""
    if not connection.is_connected:
        return False
    reader = getattr(connection._parser, "_reader", None)
    stream = getattr(connection._parser, "_stream", None)
    if not hasattr(reader, "has_data") or not isinstance(stream, asyncio.StreamReader):
        return False
    return not reader.has_data() and not stream._buffer and not stream.at_eof()


def async_client_for_url(url: str, *, max_connections: int, **kwargs: Any) -> AsyncStateClient:
    """An asyncio client for a single-server, Sentinel or cluster URL, holding at most
    ``max_connections`` connections (per node on a cluster)."""
    if _split_multi_host(url).scheme in SENTINEL_SCHEMES:
        sentinels, service, options = sentinel_target(url)
        # The Sentinel-managed pool does not wait either: past the bound, a ConnectionError.
        return redis.asyncio.sentinel.Sentinel(sentinels, sentinel_kwargs=_socket_options(kwargs)).master_for(
            service, max_connections=max_connections, **options, **kwargs
        )
    if not is_cluster_url(url):
        # A bounded pool: a burst of sockets waits briefly for a connection instead of
        # opening thousands against Redis.
        pool = QuickCheckoutPool.from_url(
            url, max_connections=max_connections, timeout=settings.REDIS_SOCKET_TIMEOUT, **kwargs
        )
        return redis.asyncio.Redis(connection_pool=pool)
    plain, seeds = cluster_seeds(url)
    # The cluster client's pools do not wait: past the bound a call fails with
    # MaxConnectionsError (a ConnectionError), which callers already treat as "unavailable".
    return _AsyncCluster.from_url(
        plain,
        startup_nodes=[redis.asyncio.cluster.ClusterNode(h, p) for h, p in seeds[1:]],
        max_connections=max_connections,
        **kwargs,
    )


def url_list(value: str) -> list[str]:
    """The servers of a role that names several, comma-separated (the sharded channel layer)."""
    return [url.strip() for url in value.split(",") if url.strip()]


def _client_kwargs() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "health_check_interval": 30,
    }


@functools.cache
def state() -> StateClient:
    """The shared synchronous client (it holds a thread-safe connection pool)."""
    return client_for_url(settings.REDIS_STATE_URL, **_client_kwargs())


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncStateClient] = (
    weakref.WeakKeyDictionary()
)


def astate() -> AsyncStateClient:
    """An asyncio client for the running event loop (asyncio connections are loop-bound)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = async_client_for_url(
            settings.REDIS_STATE_URL, max_connections=settings.REDIS_STATE_MAX_CONNECTIONS, **_client_kwargs()
        )
        _async_clients[loop] = client
    return client


def reset_clients() -> None:
    """Close and forget the state clients, so the next call connects to
    ``settings.REDIS_STATE_URL`` afresh (tests that point the role elsewhere)."""
    if state.cache_info().currsize:
        state().close()
    state.cache_clear()
    _async_clients.clear()


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

    def run(self, client: StateClient, keys: list[str], args: list[Any]) -> Any:
        return execute_with_scripts(client, [self], lambda: [self._call(client, keys, args)])[0]

    async def arun(self, client: AsyncStateClient, keys: list[str], args: list[Any]) -> Any:
        async def call() -> list[Any]:
            try:
                return [await client.evalsha(self.sha, len(keys), *keys, *args)]
            except redis.exceptions.NoScriptError as exc:
                return [exc]

        return (await aexecute_with_scripts(client, [self], call))[0]

    def _call(self, client: StateClient, keys: list[str], args: list[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError as exc:
            return exc

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Add a call of this script to a pipeline (sync or asyncio, single server or Cluster)."""
        # Not pipe.evalsha(): redis-py's cluster pipeline blocks that method, though it routes
        # the command itself by the slot of its keys.
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


def _first_error(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def _lacks_script(replies: list[Any]) -> bool:
    return any(isinstance(r, redis.exceptions.NoScriptError) for r in replies)


def execute_with_scripts(
    client: StateClient, scripts: Sequence[LuaScript], send: Callable[[], list[Any]]
) -> list[Any]:
    """Run ``send`` (queue EVALSHAs of ``scripts``, execute with ``raise_on_error=False``, return
    the replies). A server that lacks a script (a restart, a failover) gets every script loaded
    and the batch sent once more; the scripts' writes must therefore be idempotent. Then the
    first error reply, if any, is raised.

    On a Cluster, SCRIPT LOAD goes to every primary (redis-py routes it so), so one restarted
    shard costs one reload everywhere, and EVALSHA goes to the slot of the script's keys."""
    replies = send()
    if _lacks_script(replies):
        for script in scripts:
            client.script_load(script.source)
        replies = send()
    return _first_error(replies)


async def aexecute_with_scripts(
    client: AsyncStateClient, scripts: Sequence[LuaScript], send: Callable[[], Awaitable[list[Any]]]
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


def scan_delete(client: StateClient, pattern: str, batch: int = 500) -> int:
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


# --- Writes that may wait for company -------------------------------------------------------


async def batched(commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``commands`` (each ``(name, *args)``) on the state role in the running loop's next
    shared pipeline: the small writes of many sockets that arrive together (a chat line's
    transcript, a match's friend-request window) cost one round trip between them. Replies in
    order; the first reply that is an error is raised to this caller alone."""
    replies = await coalesce.of_this_loop(_send_batched).submit(commands)
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


async def _send_batched(items: list[Sequence[tuple[Any, ...]]]) -> list[list[Any]]:
    pipe = astate().pipeline(transaction=False)
    for commands in items:
        for command in commands:
            pipe.execute_command(*command)
    replies = await pipe.execute(raise_on_error=False)
    out, at = [], 0
    for commands in items:
        out.append(replies[at : at + len(commands)])
        at += len(commands)
    return out
