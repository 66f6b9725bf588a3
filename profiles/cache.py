"""The profile cache: cache-aside reads, write-through after commit, single-flight fills.

Layout (cache Redis, keys from ``seendr.keys``): a JSON record per user id, a username alias
pointing at the id, and a generation counter per user.

* Reads go through one Lua call that returns the record and counts the hit or miss in
  ``keys.cache_stats()``: one round trip per profile, or per batch of profiles.
* A miss takes a short fill lock (``SET NX PX``). The holder reads Postgres and stores the
  record; the others poll the cache for up to ``FILL_WAIT_SECONDS`` and then read Postgres
  themselves. So a cold hot key costs Postgres one query, not one per reader.
* A profile write, after commit, bumps the user's write count and stamps the server time
  (``cache_bump.lua``, which also deletes the record), reads Postgres, and stores the result
  unless a newer write bumped the count meanwhile (``cache_write_through.lua``).
* Readers store with ``SET NX`` (never overwriting) and only if no write was announced since
  their miss, which came before their Postgres read (``cache_fill.lua``). So a reader that
  loaded a row from before a commit cannot put it back after the writer's refresh, even if the
  refreshed record is evicted or expires in between.
* TTLs carry jitter so keys filled together do not expire together. Missing usernames are
  cached briefly as an empty alias.
* If the cache Redis fails, every read answers from Postgres and a warning is logged; the
  cache is then skipped for ``COOL_DOWN_SECONDS`` so a dead server does not cost each request
  a connection attempt.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import redis
from django.conf import settings
from django.db.models import Prefetch
from django_redis import get_redis_connection

from profiles.models import Interest, Profile
from seendr import keys
from seendr.redis_state import CircuitBreaker, execute_with_scripts, lua

logger = logging.getLogger(__name__)

RECORD_TTL_SECONDS = 600
RECORD_TTL_JITTER = 0.25  # up to +25 %
NEGATIVE_TTL_SECONDS = 30
GENERATION_TTL_SECONDS = 60 * 60 * 24
FILL_LOCK_MS = 3000
FILL_WAIT_SECONDS = 1.0
COOL_DOWN_SECONDS = 5.0
GET_MANY_CHUNK = 1000

# Django's username validator allows these; anything else cannot exist, so it never touches
# Redis (no key pollution from junk URLs).
_USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}\Z")

breaker = CircuitBreaker(seconds=COOL_DOWN_SECONDS)


class CacheUnavailable(redis.exceptions.ConnectionError):
    """The cache Redis failed moments ago and is skipped for now; the caller reads Postgres.

    A ConnectionError, so callers outside this module that handle Redis errors handle it too.
    """


# --- Records -------------------------------------------------------------------------------


def _build_record(profile: Profile) -> dict[str, Any]:
    user = profile.user
    thumb = profile.avatar_thumbnail or profile.avatar
    return {
        "user_id": user.pk,
        "username": user.get_username(),
        "display_name": profile.display_name or user.get_username(),
        "bio": profile.bio,
        "country": profile.country,
        "languages": list(profile.languages),
        "interests": sorted(i.name for i in profile.interests.all()),
        "likes": profile.likes_received,
        "verified": profile.email_verified,
        "avatar": thumb.url if thumb else "",
    }


def load_records(*, user_ids: Iterable[int] = (), usernames: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Records of active users from Postgres: one query for the profiles, one for interests."""
    qs = Profile.objects.select_related("user").prefetch_related(
        Prefetch("interests", queryset=Interest.objects.only("name"))
    )
    qs = qs.filter(user__is_active=True)
    ids, names = list(user_ids), list(usernames)
    if ids:
        qs = qs.filter(user_id__in=ids)
    elif names:
        qs = qs.filter(user__username__in=names)
    else:
        return []
    return [_build_record(p) for p in qs]


def _encode(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _decode(raw: bytes | str) -> dict[str, Any]:
    return json.loads(raw)


def record_ttl() -> int:
    """A TTL with jitter, so records filled together do not expire together."""
    return RECORD_TTL_SECONDS + random.randint(0, int(RECORD_TTL_SECONDS * RECORD_TTL_JITTER))


def negative_ttl() -> int:
    return NEGATIVE_TTL_SECONDS + random.randint(0, NEGATIVE_TTL_SECONDS // 3)


# --- Redis access with degradation ---------------------------------------------------------


def _location() -> str:
    return str(settings.CACHES["default"].get("LOCATION"))


def _client() -> redis.Redis:
    """The raw cache Redis client, unless the cache is cooling down after a failure."""
    if breaker.is_open(_location()):
        raise CacheUnavailable("profile cache cooling down after an error")
    return get_redis_connection("default")


def _failed(exc: Exception, doing: str) -> None:
    if breaker.trip(_location()):
        logger.warning("profile cache unavailable while %s, answering from Postgres: %s", doing, exc)


def reset_circuit() -> None:
    """Forget recent failures (tests, and the warm_cache command after an outage)."""
    breaker.reset()


def _count(field: str, amount: int = 1) -> None:
    try:
        _client().hincrby(keys.cache_stats(), field, amount)
    except (redis.RedisError, CacheUnavailable):
        pass


# --- Single flight -------------------------------------------------------------------------


def _single_flight(name: str, poll: Callable[[], tuple[bool, Any]], fill: Callable[[], Any]) -> Any:
    """Run ``fill`` once across processes while the others wait for its result.

    ``poll`` returns (found, value) from the cache. The lock holder fills; a waiter polls with
    a growing pause until the value appears or ``FILL_WAIT_SECONDS`` pass, then fills itself
    (Postgres must answer even if the holder died).
    """
    client = _client()
    lock_key = keys.cache_fill_lock(name)
    token = secrets.token_hex(8)
    if client.set(lock_key, token, nx=True, px=FILL_LOCK_MS):
        try:
            # Look again: a filler may have stored the value and released the lock between our
            # miss and our lock (a slow thread would otherwise query Postgres a second time).
            found, value = poll()
            return value if found else fill()
        finally:
            try:
                lua("profiles", "release_lock").run(client, [lock_key], [token])
            except redis.RedisError:
                pass  # the lock expires on its own
    _count("lock_waits")
    deadline = time.monotonic() + FILL_WAIT_SECONDS
    pause = 0.005
    while time.monotonic() < deadline:
        time.sleep(pause)
        found, value = poll()
        if found:
            return value
        pause = min(pause * 1.5, 0.05)
    _count("wait_timeouts")
    return fill()


# --- Reads ---------------------------------------------------------------------------------


def _read_by_name(client: redis.Redis, username: str, count: bool) -> tuple[str, int, Any]:
    """(state, server time in ms, record or user id or None) from one Lua call."""
    state, now, *rest = lua("profiles", "cache_get_by_name").run(
        client,
        [keys.profile_alias(username), keys.cache_stats()],
        [keys.profile_record_prefix(), "1" if count else "0"],
    )
    return state.decode(), int(now), rest[0] if rest else None


def _store_from_reader(
    client: redis.Redis, records: list[dict[str, Any]], missing_names: list[str], *, since_ms: int
) -> None:
    """Store what a reader loaded, in one pipeline: never overwriting, and nothing at all for
    a profile written since ``since_ms`` (the server time of the miss, before the query)."""
    script = lua("profiles", "cache_fill")

    def send() -> list:
        pipe = client.pipeline(transaction=False)
        for record in records:
            user_id = record["user_id"]
            script.queue(
                pipe,
                [
                    keys.profile_generation(user_id),
                    keys.profile_record(user_id),
                    keys.profile_alias(record["username"]),
                ],
                [since_ms, _encode(record), user_id, record_ttl()],
            )
        for name in missing_names:
            pipe.set(keys.profile_alias(name), "", ex=negative_ttl(), nx=True)
        return pipe.execute(raise_on_error=False)

    # A restarted or new server gets the script loaded and the whole batch again (the writes are
    # idempotent: NX and the write-time guard).
    execute_with_scripts(client, [script], send)


def get_by_username(username: str) -> dict[str, Any] | None:
    """The cached record of an active user, or None. Never raises for a cache outage."""
    if not _USERNAME_RE.match(username):
        return None
    try:
        client = _client()
        state, since_ms, value = _read_by_name(client, username, count=True)
        stale_alias = state == "miss" and value is not None
        if state == "hit":
            record = _decode(value)
            if record["username"] == username:
                return record
            # The alias outlived a rename: look the name up afresh.
            stale_alias = True
        elif state == "missing":
            return None

        def poll() -> tuple[bool, Any]:
            state, _, value = _read_by_name(client, username, count=False)
            if state == "hit":
                record = _decode(value)
                return (True, record) if record["username"] == username else (False, None)
            return (state == "missing", None)

        def fill() -> dict[str, Any] | None:
            _count("db_loads")
            records = load_records(usernames=[username])
            if stale_alias:
                client.delete(keys.profile_alias(username))
            _store_from_reader(client, records, [] if records else [username], since_ms=since_ms)
            return records[0] if records else None

        return _single_flight(f"name.{username}", poll, fill)
    except CacheUnavailable:
        pass
    except redis.RedisError as exc:
        _failed(exc, "reading a profile")
    records = load_records(usernames=[username])
    return records[0] if records else None


def get_many(user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Records of many users: one cache round trip, then one Postgres query for the misses.

    Batches do not take fill locks (a leaderboard page asks for many users at once); a single
    user goes through ``get_by_user_id``, which does.
    """
    ids = list(dict.fromkeys(int(i) for i in user_ids))
    if not ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    client = None
    since_ms = 0
    try:
        client = _client()
        script = lua("profiles", "cache_get")
        # One round trip per GET_MANY_CHUNK ids (Lua's unpack() has a stack limit near 8000).
        for start in range(0, len(ids), GET_MANY_CHUNK):
            chunk = ids[start : start + GET_MANY_CHUNK]
            now_ms, *values = script.run(
                client, [keys.cache_stats(), *(keys.profile_record(i) for i in chunk)], ["1"]
            )
            since_ms = since_ms or now_ms
            for user_id, raw in zip(chunk, values, strict=True):
                if raw is not None:
                    found[user_id] = _decode(raw)
    except CacheUnavailable:
        client = None
    except redis.RedisError as exc:
        _failed(exc, "reading profiles")
        client = None
    missing = [i for i in ids if i not in found]
    if missing:
        if client is not None:
            _count("db_loads")
        records = load_records(user_ids=missing)
        found.update((r["user_id"], r) for r in records)
        if client is not None and records:
            try:
                _store_from_reader(client, records, [], since_ms=since_ms)
            except redis.RedisError as exc:
                _failed(exc, "filling profiles")
    return found


def get_by_user_id(user_id: int) -> dict[str, Any] | None:
    """The cached record of one active user, with a single-flight fill on a miss."""
    try:
        client = _client()
        key = keys.profile_record(user_id)
        script = lua("profiles", "cache_get")
        since_ms, raw = script.run(client, [keys.cache_stats(), key], ["1"])
        if raw is not None:
            return _decode(raw)

        def poll() -> tuple[bool, Any]:
            _, raw = script.run(client, [keys.cache_stats(), key], ["0"])
            return (True, _decode(raw)) if raw is not None else (False, None)

        def fill() -> dict[str, Any] | None:
            _count("db_loads")
            records = load_records(user_ids=[user_id])
            if records:
                _store_from_reader(client, records, [], since_ms=since_ms)
            return records[0] if records else None

        return _single_flight(f"id.{user_id}", poll, fill)
    except CacheUnavailable:
        pass
    except redis.RedisError as exc:
        _failed(exc, "reading a profile")
    records = load_records(user_ids=[user_id])
    return records[0] if records else None


# --- Writes --------------------------------------------------------------------------------


def write_through(user_id: int) -> bool:
    """After a committed write: drop the record, reload it, store it unless a newer write won.

    Returns True when the fresh record was stored (False: user gone, a newer write won, or
    the cache is down; the TTL then bounds any staleness).
    """
    try:
        client = _client()
        generation, old_raw = lua("profiles", "cache_bump").run(
            client,
            [keys.profile_generation(user_id), keys.profile_record(user_id)],
            [GENERATION_TTL_SECONDS],
        )
        old_username = _decode(old_raw)["username"] if old_raw else None
        records = load_records(user_ids=[user_id])
        record = records[0] if records else None
        if old_username and (record is None or record["username"] != old_username):
            client.delete(keys.profile_alias(old_username))
        if record is None:
            return False
        stored = lua("profiles", "cache_write_through").run(
            client,
            [
                keys.profile_generation(user_id),
                keys.profile_record(user_id),
                keys.profile_alias(record["username"]),
            ],
            [generation, _encode(record), user_id, record_ttl()],
        )
        return bool(stored)
    except CacheUnavailable:
        logger.warning("profile cache unavailable: the cached profile of user %s may stay stale", user_id)
    except redis.RedisError as exc:
        _failed(exc, "refreshing a profile")
        logger.warning("profile cache unavailable: the cached profile of user %s may stay stale", user_id)
    return False


def warm(user_ids: list[int], *, batch_size: int = 500) -> Iterator[int]:
    """Load records in batches (one query, one pipeline each); yields each batch's size."""
    client = _client()
    for start in range(0, len(user_ids), batch_size):
        batch = user_ids[start : start + batch_size]
        since_ms = _server_ms(client)
        records = load_records(user_ids=batch)
        _store_from_reader(client, records, [], since_ms=since_ms)
        yield len(batch)


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


# --- Stats ---------------------------------------------------------------------------------

STAT_FIELDS = ("hits", "misses", "negative_hits", "db_loads", "lock_waits", "wait_timeouts")


def stats() -> dict[str, int]:
    raw = _client().hgetall(keys.cache_stats())
    values = {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in raw.items()}
    return {field: values.get(field, 0) for field in STAT_FIELDS}


def reset_stats() -> None:
    _client().delete(keys.cache_stats())
