"""The live matching pool: who waits, who talks to whom, and the atomic matcher.

Everything lives in the state Redis under one hash tag (``keys.pool_tag()``), so every Lua
script touches one Redis Cluster slot:

* ``pool_waiting`` / ``pool_interest(tag)`` / ``pool_language(lang)``: sets of waiting identity ids;
* ``ticket(id)``: hash of one waiting identity (preferences, join time, channel, instance), with a TTL
  the consumer's heartbeat refreshes; a member whose ticket is gone is a ghost and never handed out;
* ``current_match(id)``: the match id an identity is in (TTL refreshed by heartbeat);
* ``live_match(match_id)``: hash ``a, b, chan_a, chan_b, started_at, common, stage, wait_a, wait_b``;
  after ``end_match`` it keeps ``ended_at``/``ended_by`` for ``MATCH_ENDED_TTL_SECONDS`` so a like or
  report sent right after the call still finds the partner;
* ``recent_partners(id)``: sorted set partner -> matched-at, the cooldown;
* ``blocks(id)`` (written by profiles) and ``banned()`` (written by moderation) are only read here.

``matching/lua/match.lua`` decides in one atomic step: pair the caller with the best compatible
waiting ticket among a bounded random sample, or add/refresh the caller's ticket. There is no
central matcher: each waiting consumer calls :func:`retry` at its stage boundaries
(``MATCH_INTEREST_SECONDS``, ``MATCH_ANYONE_SECONDS``) and on a timer.

Widening, decided per ticket from its own wait (see :func:`stage_for`):

* ``interest`` (first ``MATCH_INTEREST_SECONDS``): only a shared interest, and the same language
  when either side set one;
* ``language`` (until ``MATCH_ANYONE_SECONDS``): also anyone with the same language;
* ``anyone``: anyone compatible.

A pair forms only when BOTH sides' stages allow it (a newcomer still in its interest stage is not
handed to someone who has waited long and widened to "anyone"). Stages a ticket cannot use are
skipped: without interests a ticket starts at ``language``; without a language the ``language``
stage is skipped (straight to ``anyone``).

Among the compatible candidates of one sample the matcher prefers, in order: the narrowest rule
(interest, then language, then anyone), more common interests, the same karma band, the longest
wait. Hard filters (``only_lang``, which needs ``lang``; ``only_country``) must hold for both sides.

Cost: one call samples at most ``MATCH_SAMPLE_SIZE`` members (SRANDMEMBER) from each of the caller's
interest sets (at most 10), its language set and the waiting set, and runs a bounded number of
commands per sampled member: independent of the pool's size. Nothing here reads a whole pool set
except :func:`sweep_stale` (SSCAN, from a beat task).

Every function takes the time (``now``, unix seconds) from the caller. Redis failures surface as
:class:`MatchingUnavailable`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings

from profiles import interests as interest_tags
from seendr import keys, redis_state
from seendr.errors import ServiceError

logger = logging.getLogger(__name__)

STAGE_INTEREST = "interest"
STAGE_LANGUAGE = "language"
STAGE_ANYONE = "anyone"
STAGES = (STAGE_INTEREST, STAGE_LANGUAGE, STAGE_ANYONE)

_LANG = re.compile(r"^[a-z]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


# --- Errors -------------------------------------------------------------------------------


class MatchingError(ServiceError):
    """Base class of everything the pool raises on purpose; ``code`` is set per subclass."""

    code = "matching_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(type(self).code, message)


class MatchingUnavailable(MatchingError):
    """Redis (the state role) did not answer; the consumer answers an ``unavailable`` error frame."""

    code = "matching_unavailable"
    status = 503


class AlreadyMatched(MatchingError):
    """The identity is in a live match (another tab, or another joiner paired it meanwhile)."""

    code = "already_matched"

    def __init__(self, match_id: str, partner_id: str, partner_channel: str) -> None:
        super().__init__(f"already in match {match_id}")
        self.match_id = match_id
        self.partner_id = partner_id
        self.partner_channel = partner_channel


class NotQueued(MatchingError):
    """``retry`` found no ticket: it expired (missed heartbeats) or the caller left. Join again."""

    code = "not_queued"


class Banned(MatchingError):
    """The identity is in ``keys.banned()`` with an expiry in the future."""

    code = "banned"

    def __init__(self, until: float) -> None:
        super().__init__(f"banned until {until}")
        self.until = until


# --- Values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """What a joiner asks for. Build from client input with :meth:`from_client` (never raises)."""

    interests: tuple[str, ...] = ()  # tags (profiles.interests), at most MAX_COUNT
    lang: str | None = None  # the joiner's chosen language (ISO 639-1), optional
    country: str = ""  # the joiner's own country (others' filters test it)
    only_lang: bool = False  # hard filter: partner must have the same lang
    only_country: str = ""  # hard filter: partner's country must equal this
    karma_band: int | None = None  # optional; at the "anyone" stage prefer the same band

    def __post_init__(self) -> None:
        if len(self.interests) > interest_tags.MAX_COUNT:
            raise ValueError(f"at most {interest_tags.MAX_COUNT} interests")
        if interest_tags.normalise_many(list(self.interests)) != tuple(self.interests):
            raise ValueError("interests must be normalised (use Preferences.from_client)")
        if self.lang is not None and not _LANG.match(self.lang):
            raise ValueError("lang must be a lower-case ISO 639-1 code")
        if self.country and not _COUNTRY.match(self.country):
            raise ValueError("country must be an upper-case ISO 3166-1 alpha-2 code")
        if self.only_country and not _COUNTRY.match(self.only_country):
            raise ValueError("only_country must be an upper-case ISO 3166-1 alpha-2 code")

    @classmethod
    def from_client(
        cls,
        *,
        interests: object = (),
        lang: object = None,
        country: object = "",
        only_lang: object = False,
        only_country: object = "",
        karma_band: object = None,
    ) -> Preferences:
        """Lenient constructor for untrusted input: bad values become "not set"."""
        lang_s = lang.strip().lower() if isinstance(lang, str) else ""
        country_s = country.strip().upper() if isinstance(country, str) else ""
        only_country_s = only_country.strip().upper() if isinstance(only_country, str) else ""
        band = karma_band if isinstance(karma_band, int) and not isinstance(karma_band, bool) else None
        return cls(
            interests=interest_tags.normalise_many(interests),
            lang=lang_s if _LANG.match(lang_s) else None,
            country=country_s if _COUNTRY.match(country_s) else "",
            only_lang=only_lang is True,
            only_country=only_country_s if _COUNTRY.match(only_country_s) else "",
            karma_band=band,
        )


@dataclass(frozen=True)
class Pairing:
    """What a side learns when a match forms (from :func:`join`/:func:`retry`, or :func:`get_pairing`)."""

    match_id: str
    partner_id: str
    partner_channel: str  # Channels channel name of the partner's socket
    initiator: bool  # True for the side whose join formed the match: it makes the WebRTC offer
    common_interests: tuple[str, ...]
    stage: str  # "interest" | "language" | "anyone": the widest rule this pair needed
    started_at: float
    waited_seconds: float  # this side's join -> matched
    partner_waited_seconds: float


@dataclass(frozen=True)
class EndedMatch:
    """A match :func:`end_match` just ended (seen from the caller: ``partner_*`` is the other side)."""

    match_id: str
    a: str  # the initiator
    b: str
    partner_id: str
    partner_channel: str
    started_at: float
    ended_at: float
    common_interests: tuple[str, ...] = field(default=())


# --- Plumbing: one place that runs scripts and turns Redis failures into MatchingUnavailable --


def _instance() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _unavailable(exc: Exception) -> MatchingUnavailable:
    logger.warning("matching pool: Redis failed: %s", exc)
    return MatchingUnavailable("Matching is temporarily unavailable, try again in a moment.")


def _run(script: str, keys_: list[str], args: list[Any]) -> Any:
    try:
        return redis_state.lua("matching", script).run(redis_state.state(), keys_, args)
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc


async def _arun(script: str, keys_: list[str], args: list[Any]) -> Any:
    try:
        return await redis_state.lua("matching", script).arun(redis_state.astate(), keys_, args)
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc


def _match_keys(identity_id: str, now: float) -> list[str]:
    minute = int(now // 60)
    return [
        keys.ticket(identity_id),
        keys.current_match(identity_id),
        keys.pool_waiting(),
        keys.banned(),
        keys.recent_partners(identity_id),
        keys.blocks(identity_id),
        keys.pool_live_matches(),
        keys.matches_per_minute(minute),
        keys.match_waits_per_minute(minute),
    ]


def _match_args(mode: str, identity_id: str, now: float) -> list[Any]:
    return [
        keys.pool_tag(),
        mode,
        identity_id,
        repr(float(now)),
        uuid.uuid4().hex,
        int(settings.TICKET_TTL_SECONDS),
        int(settings.MATCH_CURRENT_TTL_SECONDS),
        repr(float(settings.MATCH_INTEREST_SECONDS)),
        repr(float(settings.MATCH_ANYONE_SECONDS)),
        int(settings.MATCH_SAMPLE_SIZE),
        int(settings.MATCH_COOLDOWN_SECONDS),
        int(settings.MATCH_RECENT_PARTNERS),
        int(settings.MATCH_STATS_TTL_SECONDS),
        _instance(),
    ]


def _check_identity(identity_id: str) -> None:
    if not identity_id or "," in identity_id or len(identity_id) > 64:
        raise ValueError("bad identity id")


def _join_call(identity_id: str, prefs: Preferences, channel_name: str, now: float) -> tuple[list, list]:
    _check_identity(identity_id)
    args = _match_args("join", identity_id, now)
    args += [
        channel_name,
        ",".join(prefs.interests),
        prefs.lang or "",
        prefs.country,
        "1" if prefs.only_lang else "0",
        prefs.only_country,
        "" if prefs.karma_band is None else str(prefs.karma_band),
    ]
    return _match_keys(identity_id, now), args


def _retry_call(identity_id: str, now: float) -> tuple[list, list]:
    _check_identity(identity_id)
    return _match_keys(identity_id, now), _match_args("retry", identity_id, now)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(t for t in (value or "").split(",") if t)


def _match_reply(reply: Sequence[str]) -> Pairing | None:
    kind = reply[0]
    if kind == "queued":
        return None
    if kind == "matched":
        _, mid, partner, channel, common, stage, started, waited, partner_waited = reply[:9]
        return Pairing(
            match_id=mid,
            partner_id=partner,
            partner_channel=channel,
            initiator=True,
            common_interests=_split(common),
            stage=stage,
            started_at=float(started),
            waited_seconds=float(waited),
            partner_waited_seconds=float(partner_waited),
        )
    if kind == "already":
        raise AlreadyMatched(reply[1], reply[2], reply[3])
    if kind == "banned":
        raise Banned(float(reply[1]))
    if kind == "gone":
        raise NotQueued("not in the pool: join again")
    raise MatchingError(f"unexpected matcher reply {kind!r}")


def _end_reply(reply: Sequence[str] | None) -> EndedMatch | None:
    if not reply:
        return None
    mid, a, b, partner, channel, started, ended, common = reply
    return EndedMatch(
        match_id=mid,
        a=a,
        b=b,
        partner_id=partner,
        partner_channel=channel,
        started_at=float(started),
        ended_at=float(ended),
        common_interests=_split(common),
    )


def _live(identity_id: str, mid: str | None, record: dict[str, str]) -> dict[str, str] | None:
    """The live match record if ``mid`` names one the identity is in and it has not ended."""
    if not mid or not record or "ended_at" in record:
        return None
    if identity_id not in (record.get("a"), record.get("b")):
        return None
    return record


def _pairing_from(identity_id: str, mid: str, record: dict[str, str]) -> Pairing:
    mine_a = record["a"] == identity_id
    return Pairing(
        match_id=mid,
        partner_id=record["b"] if mine_a else record["a"],
        partner_channel=record.get("chan_b" if mine_a else "chan_a", ""),
        initiator=mine_a,
        common_interests=_split(record.get("common")),
        stage=record.get("stage", STAGE_ANYONE),
        started_at=float(record.get("started_at", 0)),
        waited_seconds=float(record.get("wait_a" if mine_a else "wait_b", 0)),
        partner_waited_seconds=float(record.get("wait_b" if mine_a else "wait_a", 0)),
    )


def _triple(identity_id: str, mid: str | None, record: dict[str, str]) -> tuple[str, str, str] | None:
    live = _live(identity_id, mid, record)
    if live is None or mid is None:
        return None
    pairing = _pairing_from(identity_id, mid, live)
    return pairing.match_id, pairing.partner_id, pairing.partner_channel


# --- Service API (asyncio, for the consumer) ----------------------------------------------


async def join(*, identity_id: str, prefs: Preferences, channel_name: str, now: float) -> Pairing | None:
    """One atomic Lua call: pair with a compatible waiting ticket, or add/refresh the caller's ticket.

    Returns the Pairing (the caller is the initiator) or None when queued. Joining while already
    queued (a second tab, a repeated join) refreshes the same ticket: new preferences and channel,
    original join time. Raises AlreadyMatched if the identity is in a live match, Banned if banned,
    MatchingUnavailable if Redis fails. The caller must tell the partner (``partner_channel``).
    """
    return _match_reply(await _arun("match", *_join_call(identity_id, prefs, channel_name, now)))


async def retry(*, identity_id: str, now: float) -> Pairing | None:
    """Re-run the matcher for a queued identity with its stored preferences (same atomic script).

    Call at the stage boundaries and on a timer. None = still queued (ticket TTL refreshed).
    Raises AlreadyMatched when another joiner paired the caller meanwhile (its consumer was told;
    :func:`get_pairing` reads the details), NotQueued when the ticket is gone, Banned, or
    MatchingUnavailable.
    """
    return _match_reply(await _arun("match", *_retry_call(identity_id, now)))


async def leave_pool(*, identity_id: str) -> bool:
    """Remove the caller's ticket and every pool-set membership. True if it was queued."""
    return bool(
        await _arun("leave", [keys.ticket(identity_id), keys.pool_waiting()], [keys.pool_tag(), identity_id])
    )


def _end_call(identity_id: str, now: float, reason: str) -> tuple[list, list]:
    return (
        [keys.current_match(identity_id), keys.pool_live_matches()],
        [keys.pool_tag(), identity_id, repr(float(now)), int(settings.MATCH_ENDED_TTL_SECONDS), reason],
    )


async def end_match(*, identity_id: str, now: float, reason: str = "") -> EndedMatch | None:
    """Atomically end the caller's live match for BOTH sides; None if the caller is in none.

    Deletes both current-match keys (only where they still point to this match), stamps
    ``ended_at``/``ended_by``/``end_reason`` on the live_match hash and keeps it for
    ``MATCH_ENDED_TTL_SECONDS``. Idempotent: the second call (from either side) returns None.
    """
    return _end_reply(await _arun("end", *_end_call(identity_id, now, reason)))


def _heartbeat_call(identity_id: str, now: float) -> tuple[list, list]:
    return (
        [keys.ticket(identity_id), keys.current_match(identity_id), keys.pool_live_matches()],
        [
            keys.pool_tag(),
            int(settings.TICKET_TTL_SECONDS),
            int(settings.MATCH_CURRENT_TTL_SECONDS),
            repr(float(now)),
        ],
    )


def heartbeat_call(*, identity_id: str, now: float) -> tuple[list, list]:
    """(keys, args) of ``heartbeat.lua`` for one identity, for a caller's pipeline."""
    return _heartbeat_call(identity_id, now)


async def heartbeat(*, identity_id: str, now: float) -> None:
    """Refresh the TTLs of the caller's ticket and of its current match (keys + live_match hash)."""
    await _arun("heartbeat", *_heartbeat_call(identity_id, now))


async def _aread_match(identity_id: str) -> tuple[str | None, dict[str, str]]:
    client = redis_state.astate()
    try:
        mid = await client.get(keys.current_match(identity_id))
        record = await client.hgetall(keys.live_match(mid)) if mid else {}
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    return mid, record


def _read_match(identity_id: str) -> tuple[str | None, dict[str, str]]:
    client = redis_state.state()
    try:
        mid = client.get(keys.current_match(identity_id))
        record = client.hgetall(keys.live_match(mid)) if mid else {}
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    return mid, record


async def current_match(*, identity_id: str) -> tuple[str, str, str] | None:
    """(match_id, partner_id, partner_channel) of the caller's live match, or None."""
    mid, record = await _aread_match(identity_id)
    return _triple(identity_id, mid, record)


async def get_pairing(*, identity_id: str) -> Pairing | None:
    """The caller's live match as a Pairing seen from the caller (``initiator`` False for the passive
    side), or None. For the side that was paired by someone else's join."""
    mid, record = await _aread_match(identity_id)
    live = _live(identity_id, mid, record)
    return _pairing_from(identity_id, mid, live) if live and mid else None


def _channel_call(identity_id: str, channel_name: str) -> tuple[list, list]:
    return (
        [keys.ticket(identity_id), keys.current_match(identity_id)],
        [keys.pool_tag(), identity_id, channel_name],
    )


async def update_channel(*, identity_id: str, channel_name: str) -> None:
    """Record a new socket for the identity (the newest wins) in its ticket and its live match."""
    await _arun("channel", *_channel_call(identity_id, channel_name))


# --- Sync API (commands, tasks, tests) ----------------------------------------------------


def stage_for(*, waited_seconds: float, has_interests: bool = True, has_lang: bool = True) -> str:
    """The widening stage of a ticket that has waited this long ("interest", "language", "anyone").

    Stages the ticket cannot use are skipped (no interests: never "interest"; no language: never
    "language"). Mirrors ``stage_of`` in match.lua.
    """
    if waited_seconds >= settings.MATCH_ANYONE_SECONDS:
        stage = 2
    elif waited_seconds >= settings.MATCH_INTEREST_SECONDS:
        stage = 1
    else:
        stage = 0
    if stage == 0 and not has_interests:
        stage = 1
    if stage == 1 and not has_lang:
        stage = 2
    return STAGES[stage]


def next_boundary(*, waited_seconds: float) -> float | None:
    """Seconds until the next widening boundary (when the consumer should call :func:`retry`),
    or None once the ticket is at "anyone"."""
    for boundary in (settings.MATCH_INTEREST_SECONDS, settings.MATCH_ANYONE_SECONDS):
        if waited_seconds < boundary:
            return boundary - waited_seconds
    return None


def sweep_stale(*, now: float) -> dict[str, int]:
    """SCAN the pool sets and drop members whose ticket expired; forget lapsed live matches.

    Returns ``{"sets": scanned sets, "members": members checked, "removed": ghosts removed,
    "live_expired": lapsed live-match entries dropped}``. Cost is O(pool); run from a beat task.
    """
    client = redis_state.state()
    script = redis_state.lua("matching", "sweep")
    tag = keys.pool_tag()
    counts = {"sets": 0, "members": 0, "removed": 0, "live_expired": 0}
    try:
        for pattern in keys.pool_set_patterns():
            for set_key in client.scan_iter(match=pattern, count=500):
                counts["sets"] += 1
                batch: list[str] = []
                for member in client.sscan_iter(set_key, count=500):
                    batch.append(member)
                    if len(batch) >= 500:
                        counts["removed"] += script.run(client, [set_key], [tag, *batch])
                        counts["members"] += len(batch)
                        batch = []
                if batch:
                    counts["removed"] += script.run(client, [set_key], [tag, *batch])
                    counts["members"] += len(batch)
        counts["live_expired"] = client.zremrangebyscore(
            keys.pool_live_matches(), "-inf", f"({now - settings.MATCH_CURRENT_TTL_SECONDS}"
        )
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    return counts


def pool_counts() -> dict[str, int]:
    """``{"waiting": N, "in_call": N}`` with O(1)/O(log N) commands (SCARD, ZCOUNT).

    ``waiting`` may include ghosts for up to a ticket TTL plus a sweep interval; ``in_call`` counts
    both people of every match heartbeated within ``MATCH_CURRENT_TTL_SECONDS``.
    """
    since = time.time() - settings.MATCH_CURRENT_TTL_SECONDS
    try:
        pipe = redis_state.state().pipeline(transaction=False)
        pipe.scard(keys.pool_waiting())
        pipe.zcount(keys.pool_live_matches(), since, "+inf")
        waiting, live = pipe.execute()
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    return {"waiting": int(waiting), "in_call": 2 * int(live)}


def join_sync(*, identity_id: str, prefs: Preferences, channel_name: str, now: float) -> Pairing | None:
    """Synchronous :func:`join`."""
    return _match_reply(_run("match", *_join_call(identity_id, prefs, channel_name, now)))


def retry_sync(*, identity_id: str, now: float) -> Pairing | None:
    """Synchronous :func:`retry`."""
    return _match_reply(_run("match", *_retry_call(identity_id, now)))


def leave_pool_sync(*, identity_id: str) -> bool:
    """Synchronous :func:`leave_pool`."""
    return bool(
        _run("leave", [keys.ticket(identity_id), keys.pool_waiting()], [keys.pool_tag(), identity_id])
    )


def end_match_sync(*, identity_id: str, now: float, reason: str = "") -> EndedMatch | None:
    """Synchronous :func:`end_match` (e.g. a ban task ending the banned identity's call)."""
    return _end_reply(_run("end", *_end_call(identity_id, now, reason)))


def heartbeat_sync(*, identity_id: str, now: float) -> None:
    """Synchronous :func:`heartbeat`."""
    _run("heartbeat", *_heartbeat_call(identity_id, now))


def current_match_sync(*, identity_id: str) -> tuple[str, str, str] | None:
    """Synchronous :func:`current_match`."""
    mid, record = _read_match(identity_id)
    return _triple(identity_id, mid, record)


def get_pairing_sync(*, identity_id: str) -> Pairing | None:
    """Synchronous :func:`get_pairing`."""
    mid, record = _read_match(identity_id)
    live = _live(identity_id, mid, record)
    return _pairing_from(identity_id, mid, live) if live and mid else None


def update_channel_sync(*, identity_id: str, channel_name: str) -> None:
    """Synchronous :func:`update_channel`."""
    _run("channel", *_channel_call(identity_id, channel_name))


def match_record(*, match_id: str) -> dict[str, str] | None:
    """The live or recently ended match hash (``a``, ``b``, ``started_at``, ``ended_at``...), or None."""
    try:
        record = redis_state.state().hgetall(keys.live_match(match_id))
    except redis.exceptions.RedisError as exc:
        raise _unavailable(exc) from exc
    return record or None
