"""Every Redis key and Channels group name Seendr uses, built in one place.

Nothing else formats a key string. Keys start with ``settings.SEENDR_KEY_PREFIX`` (read at call
time, so tests can isolate themselves). Group names use dots: Channels rejects colons.

Redis Cluster: every key one Lua script or MULTI touches shares a hash tag (the part in braces
decides the slot), so the state role may run on a Cluster unchanged:

* ``{pool}``: the live matching pool, tickets, current matches, blocks, bans, match statistics
  (the matcher reads them all in one script), friend calls and call lines (answering a call
  creates a match in the same step), and the ban mirror's readiness marker (it must be lost
  with the sets it vouches for). With pool shards (``seendr.pool_shards``) each shard has all
  of these under ``{pool.<shard>}``; every pool builder takes the shard (``None``: the default);

* ``{<board>}``: every period of one leaderboard and its rebuild's temporary keys (a like's
  MULTI writes the day, week and all-time buckets; the rebuild RENAMEs over the live key).

Every other key is touched alone by its script or MULTI (a rate-limit bucket, an OTP, an
idempotency record, a transcript, presence, a match's friend requests, a cached translation),
and a key alone is always in one slot; those carry no tag, so they spread over the shards.
``seendr/tests/test_keys.py`` checks the rule.
"""

from __future__ import annotations

from django.conf import settings

from seendr import pool_shards


def _p() -> str:
    return settings.SEENDR_KEY_PREFIX


def prefix() -> str:
    """The common prefix of every key, for SCAN-based sweeps."""
    return _p()


# --- Identities ---------------------------------------------------------------------------


def guest(guest_id: str) -> str:
    """Hash: name, created, ip_hash of a guest identity; expires with the guest."""
    return f"{_p()}guest:{guest_id}"


def network(identity_id: str) -> str:
    """String: the keyed hash of the network an identity last used (``seendr.networks``), 30 d TTL."""
    return f"{_p()}net:{identity_id}"


def otp(user_id: int) -> str:
    """Hash: code, tries left; a 10-minute TTL."""
    return f"{_p()}otp:{user_id}"


# --- Live matching pool (one hash tag) ----------------------------------------------------


def pool_tag(shard: str | None = None) -> str:
    """The literal prefix every key of one pool shard shares; passed to Lua so it can build keys.

    ``{pool}`` for the one shard of an unsharded pool, ``{pool.<name>}`` for a named shard;
    ``shard=None`` is the default shard (``seendr.pool_shards``)."""
    name = pool_shards.default() if shard is None else shard
    return f"{_p()}{{pool.{name}}}:" if name else f"{_p()}{{pool}}:"


def pool_waiting(shard: str | None = None) -> str:
    return f"{pool_tag(shard)}waiting"


def pool_interest(tag: str, shard: str | None = None) -> str:
    return f"{pool_tag(shard)}interest:{tag}"


def pool_language(lang: str, shard: str | None = None) -> str:
    return f"{pool_tag(shard)}lang:{lang}"


def ticket(identity_id: str, shard: str | None = None) -> str:
    return f"{pool_tag(shard)}ticket:{identity_id}"


def current_match(identity_id: str, shard: str | None = None) -> str:
    return f"{pool_tag(shard)}current:{identity_id}"


def live_match(match_id: str, shard: str | None = None) -> str:
    """Hash of one live (or recently ended) match, in the shard its id names."""
    return f"{pool_tag(pool_shards.of_match(match_id) if shard is None else shard)}match:{match_id}"


def recent_partners(identity_id: str, shard: str | None = None) -> str:
    return f"{pool_tag(shard)}recent:{identity_id}"


def blocks(identity_id: str, shard: str | None = None) -> str:
    """Set of identity ids this identity has blocked (the matcher checks both directions)."""
    return f"{pool_tag(shard)}blocks:{identity_id}"


def guest_blocks_pattern() -> str:
    """SCAN pattern of the block sets of guests in any pool layout (``{pool}`` or a shard's):
    Redis holds their only copy, so a change of layout carries them over."""
    return f"{_glob_escaped(_p())}{{pool*:blocks:g*"


def banned(shard: str | None = None) -> str:
    """Sorted set identity id -> ban expiry (unix seconds); the matcher skips members."""
    return f"{pool_tag(shard)}banned"


def banned_networks(shard: str | None = None) -> str:
    """Sorted set network hash -> expiry of the last-ending active ban that carries it. Under the
    pool's hash tag with ``banned()``: the readiness marker vouches for both."""
    return f"{pool_tag(shard)}bans:networks"


def ban_mirror_ready(shard: str | None = None) -> str:
    """Present while ``banned()`` and ``banned_networks()`` hold every active ban. Written by the
    rebuild; gone after an empty restart, which sends ban checks to Postgres and a rebuild. On a
    Cluster it must live on the shard of the sets it vouches for (a restart of that shard loses
    it with them), hence the pool's hash tag."""
    return f"{pool_tag(shard)}bans:ready"


def ban_mirror_lock() -> str:
    """SET NX EX lock: whoever holds it rebuilds a lost ban mirror; the others ask Postgres."""
    return f"{_p()}bans:rebuild_lock"


def pool_live_matches(shard: str | None = None) -> str:
    """Sorted set match id -> last heartbeat of a live match; ``in_call`` counts recent members."""
    return f"{pool_tag(shard)}live"


def pool_set_patterns(shard: str | None = None) -> list[str]:
    """SCAN patterns (glob-escaped prefix) of every pool set that can hold a ghost member."""
    base = _glob_escaped(pool_tag(shard))
    return [f"{base}waiting", f"{base}interest:*", f"{base}lang:*"]


def _glob_escaped(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def match_waits_per_minute(minute: int, shard: str | None = None) -> str:
    """List of seconds each side waited before a match formed in that minute (2 h TTL): two
    entries per match, so its length also counts the matches formed."""
    return f"{pool_tag(shard)}stats:waits:{minute}"


# --- Presence and sockets -----------------------------------------------------------------


def presence_online() -> str:
    """Sorted set identity id -> last heartbeat (unix seconds)."""
    return f"{_p()}presence:online"


def socket_owner(identity_id: str) -> str:
    """The channel name of the one chat socket an identity may hold (the newest wins)."""
    return f"{_p()}socket:{identity_id}"


def transcript(match_id: str) -> str:
    """List of the last chat lines of a live match, kept as report evidence."""
    return f"{_p()}transcript:{match_id}"


def presence_broadcast_lock() -> str:
    """SET NX PX lock: whoever holds it sends the next ``online`` broadcast (one per window)."""
    return f"{_p()}presence:broadcast_lock"


def presence_last_count() -> str:
    """The online count last broadcast, so an unchanged count is not sent again."""
    return f"{_p()}presence:last_count"


# --- Friends and calls --------------------------------------------------------------------


def friend_asks(match_id: str) -> str:
    """Hash of the pending "add friend" requests of one match: side identity id -> the account
    identity id behind it ("" for a guest without one yet), plus ``=done`` once both asked.
    Lives while the match does and ``FRIEND_REQUEST_WINDOW_SECONDS`` after it ended."""
    return f"{_p()}friends:asks:{match_id}"


def guest_friend_asks(guest_id: str) -> str:
    """Hash match id -> partner id of the requests a guest made: what sign-up carries over."""
    return f"{_p()}friends:guest:{guest_id}"


def call(call_id: str, shard: str | None = None) -> str:
    """Hash of one ringing call: caller, callee, their channels, created, state. Under the pool
    tag: answering it creates a match in the same atomic step."""
    return f"{pool_tag(shard)}call:{call_id}"


def call_line(identity_id: str, shard: str | None = None) -> str:
    """The id of the call an identity is placing or being rung by (one at a time)."""
    return f"{pool_tag(shard)}line:{identity_id}"


def call_declined(caller_id: str, callee_id: str) -> str:
    """Set when the callee declined: the caller may not ring them again until it expires."""
    return f"{_p()}call:declined:{caller_id}:{callee_id}"


# --- Leaderboards -------------------------------------------------------------------------


def leaderboard_tag(board: str) -> str:
    """The hash tag every key of one board shares (all periods, and its rebuild's keys)."""
    return f"{{{board}}}"


def leaderboard(board: str, period: str, bucket: str) -> str:
    """Sorted set user id -> score, e.g. ``lb:{likes}:day:2026-11-26`` or ``lb:{likes}:all:all``."""
    return f"{_p()}lb:{leaderboard_tag(board)}:{period}:{bucket}"


def leaderboard_build(board: str, period: str, bucket: str, token: str) -> str:
    """A board being rebuilt from Postgres; RENAMEd over ``leaderboard(...)`` when complete, so it
    carries the board's hash tag."""
    return f"{_p()}lbtmp:{leaderboard_tag(board)}:{token}:{period}:{bucket}"


# --- Cache bookkeeping, limits, idempotency -----------------------------------------------


def cache_stats() -> str:
    """Hash of hit/miss counters of the profile cache."""
    return f"{_p()}stats:profile_cache"


def cache_fill_lock(name: str) -> str:
    return f"{_p()}lock:fill:{name}"


# Profile cache (cache Redis, raw keys next to django-redis's own). A record lives under the
# user id; a username alias points at the id (or is empty: a briefly cached "no such user").


def profile_record_prefix() -> str:
    """Prefix of the record keys; the cache Lua appends a user id it read from an alias."""
    return f"{_p()}pc:rec:"


def profile_record(user_id: int) -> str:
    """String: JSON of one cached public profile."""
    return f"{profile_record_prefix()}{user_id}"


def profile_alias(username: str) -> str:
    """String: the user id behind a username, or "" for a username that does not exist."""
    return f"{_p()}pc:name:{username}"


def profile_generation(user_id: int) -> str:
    """Hash n (writes so far), t (server ms of the last write): guards cache fills against races."""
    return f"{_p()}pc:gen:{user_id}"


def translation(text_sha256: str, source: str, target: str) -> str:
    """String (cache Redis): a translated chat line as JSON, by the hash of its text; a TTL."""
    return f"{_p()}translation:{source}:{target}:{text_sha256}"


def rate_limit(scope: str, subject: str) -> str:
    return f"{_p()}rl:{scope}:{subject}"


def idempotency(scope: str, key: str) -> str:
    return f"{_p()}idem:{scope}:{key}"


# --- Operations (metrics, dashboard, Celery bookkeeping) ---------------------------------


def match_stats_totals(shard: str | None = None) -> str:
    """Hash of cumulative match statistics folded from the per-minute keys (``count``, ``waits``,
    ``wait_sum``, ``le:<bound>``, ``folded_until``). Under the pool hash tag: the fold script reads
    the per-minute keys in the same step."""
    return f"{pool_tag(shard)}stats:totals"


def celery_task_outcomes() -> str:
    """Hash ``<task name>|<outcome>`` -> count, written by the Celery signal handlers."""
    return f"{_p()}ops:celery:outcomes"


def celery_recent_failures() -> str:
    """List of JSON records of the latest failed tasks (capped, with a TTL)."""
    return f"{_p()}ops:celery:failures"


def celery_queue(queue: str) -> str:
    """The broker list of a Celery queue as kombu stores it (it adds the broker's global prefix)."""
    return f"{_p()}celery:{queue}"


def celery_unacked() -> str:
    """The broker hash of tasks delivered to a worker but not yet acknowledged."""
    return f"{_p()}celery:unacked"


# --- Channels group names (dots, never colons) --------------------------------------------


def identity_group(identity_id: str) -> str:
    """Every socket of one identity: used to kick or ban it on whichever instance holds it."""
    return f"identity.{identity_id}"


def presence_group() -> str:
    return "presence"
