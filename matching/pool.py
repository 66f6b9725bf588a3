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

Every function takes the time (``now``, unix seconds) from the caller. Redis failures surface as
:class:`MatchingUnavailable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STAGE_INTEREST = "interest"
STAGE_LANGUAGE = "language"
STAGE_ANYONE = "anyone"
STAGES = (STAGE_INTEREST, STAGE_LANGUAGE, STAGE_ANYONE)

MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 40
_TAG_DROP = re.compile(r"[^\w\- ]+", re.UNICODE)
_LANG = re.compile(r"^[a-z]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


# --- Errors -------------------------------------------------------------------------------


class MatchingError(Exception):
    """Base class of everything the pool raises on purpose."""


class MatchingUnavailable(MatchingError):
    """Redis (the state role) did not answer; the consumer answers an ``unavailable`` error frame."""

    code = "matching_unavailable"


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


def normalise_interests(raw: object) -> tuple[str, ...]:
    """Client input (list of str, or a comma separated str) -> at most 10 clean lower-case tags.

    Never raises: junk is dropped. Order is kept, duplicates removed.
    """
    if isinstance(raw, str):
        items: list[object] = list(raw.split(","))
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        return ()
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        tag = " ".join(_TAG_DROP.sub(" ", item).lower().split())[:MAX_INTEREST_LENGTH].strip()
        if tag and tag not in out:
            out.append(tag)
        if len(out) >= MAX_INTERESTS:
            break
    return tuple(out)


@dataclass(frozen=True)
class Preferences:
    """What a joiner asks for. Build from client input with :meth:`from_client` (never raises)."""

    interests: tuple[str, ...] = ()  # normalised lower-case tags, at most 10
    lang: str | None = None  # the joiner's chosen language (ISO 639-1), optional
    country: str = ""  # the joiner's own country (others' filters test it)
    only_lang: bool = False  # hard filter: partner must have the same lang
    only_country: str = ""  # hard filter: partner's country must equal this
    karma_band: int | None = None  # optional; at the "anyone" stage prefer the same band

    def __post_init__(self) -> None:
        if len(self.interests) > MAX_INTERESTS:
            raise ValueError(f"at most {MAX_INTERESTS} interests")
        if normalise_interests(list(self.interests)) != tuple(self.interests):
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
            interests=normalise_interests(interests),
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


# --- Service API (asyncio, for the consumer) ----------------------------------------------


async def join(*, identity_id: str, prefs: Preferences, channel_name: str, now: float) -> Pairing | None:
    """One atomic Lua call: pair with a compatible waiting ticket, or add/refresh the caller's ticket.

    Returns the Pairing (the caller is the initiator) or None when queued. Joining while already
    queued (a second tab, a repeated join) refreshes the same ticket: new preferences and channel,
    original join time. Raises AlreadyMatched if the identity is in a live match, Banned if banned,
    MatchingUnavailable if Redis fails. The caller must tell the partner (``partner_channel``).
    """
    raise NotImplementedError


async def retry(*, identity_id: str, now: float) -> Pairing | None:
    """Re-run the matcher for a queued identity with its stored preferences (same atomic script).

    Call at the stage boundaries and on a timer. None = still queued (ticket TTL refreshed).
    Raises AlreadyMatched when another joiner paired the caller meanwhile (its consumer was told;
    :func:`get_pairing` reads the details), NotQueued when the ticket is gone, Banned, or
    MatchingUnavailable.
    """
    raise NotImplementedError


async def leave_pool(*, identity_id: str) -> bool:
    """Remove the caller's ticket and every pool-set membership. True if it was queued."""
    raise NotImplementedError


async def end_match(*, identity_id: str, now: float, reason: str = "") -> EndedMatch | None:
    """Atomically end the caller's live match for BOTH sides; None if the caller is in none.

    Deletes both current-match keys (only where they still point to this match), stamps
    ``ended_at``/``ended_by``/``end_reason`` on the live_match hash and keeps it for
    ``MATCH_ENDED_TTL_SECONDS``. Idempotent: the second call (from either side) returns None.
    """
    raise NotImplementedError


async def heartbeat(*, identity_id: str, now: float) -> None:
    """Refresh the TTLs of the caller's ticket and of its current match (keys + live_match hash)."""
    raise NotImplementedError


async def current_match(*, identity_id: str) -> tuple[str, str, str] | None:
    """(match_id, partner_id, partner_channel) of the caller's live match, or None."""
    raise NotImplementedError


async def get_pairing(*, identity_id: str) -> Pairing | None:
    """The caller's live match as a Pairing seen from the caller (``initiator`` False for the passive
    side), or None. For the side that was paired by someone else's join."""
    raise NotImplementedError


async def update_channel(*, identity_id: str, channel_name: str) -> None:
    """Record a new socket for the identity (the newest wins) in its ticket and its live match."""
    raise NotImplementedError


# --- Sync API (commands, tasks, tests) ----------------------------------------------------


def stage_for(*, waited_seconds: float, has_interests: bool = True, has_lang: bool = True) -> str:
    """The widening stage of a ticket that has waited this long ("interest", "language", "anyone").

    Stages the ticket cannot use are skipped (no interests: never "interest"; no language: never
    "language").
    """
    raise NotImplementedError


def sweep_stale(*, now: float) -> dict[str, int]:
    """SCAN the pool sets and drop members whose ticket expired; forget lapsed live matches.

    Returns ``{"sets": scanned sets, "members": members checked, "removed": ghosts removed,
    "live_expired": lapsed live-match entries dropped}``. Cost is O(pool); run from a beat task.
    """
    raise NotImplementedError


def pool_counts() -> dict[str, int]:
    """``{"waiting": N, "in_call": N}`` with O(1)/O(log N) commands (SCARD, ZCOUNT).

    ``waiting`` may include ghosts for up to a ticket TTL plus a sweep interval.
    """
    raise NotImplementedError


def join_sync(*, identity_id: str, prefs: Preferences, channel_name: str, now: float) -> Pairing | None:
    """Synchronous :func:`join`."""
    raise NotImplementedError


def retry_sync(*, identity_id: str, now: float) -> Pairing | None:
    """Synchronous :func:`retry`."""
    raise NotImplementedError


def leave_pool_sync(*, identity_id: str) -> bool:
    """Synchronous :func:`leave_pool`."""
    raise NotImplementedError


def end_match_sync(*, identity_id: str, now: float, reason: str = "") -> EndedMatch | None:
    """Synchronous :func:`end_match` (e.g. a ban task ending the banned identity's call)."""
    raise NotImplementedError


def heartbeat_sync(*, identity_id: str, now: float) -> None:
    """Synchronous :func:`heartbeat`."""
    raise NotImplementedError


def current_match_sync(*, identity_id: str) -> tuple[str, str, str] | None:
    """Synchronous :func:`current_match`."""
    raise NotImplementedError


def get_pairing_sync(*, identity_id: str) -> Pairing | None:
    """Synchronous :func:`get_pairing`."""
    raise NotImplementedError


def update_channel_sync(*, identity_id: str, channel_name: str) -> None:
    """Synchronous :func:`update_channel`."""
    raise NotImplementedError
