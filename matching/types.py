"""The live loop's values and errors, shared by the pool, the session, the frames and services.

Nothing here talks to Redis or the database, so the parser (``frames``) and the session
(``session``) can name what they handle without importing the Redis adapter (``pool``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from profiles import interests as interest_tags
from seendr.errors import ServiceError

STAGE_INTEREST = "interest"
STAGE_LANGUAGE = "language"
STAGE_ANYONE = "anyone"
STAGES = (STAGE_INTEREST, STAGE_LANGUAGE, STAGE_ANYONE)
# The stage recorded for a match that began as an answered friend call (matching.calls).
STAGE_FRIEND = "friend"

_LANG = re.compile(r"^[a-z]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


# --- Errors -------------------------------------------------------------------------------


class MatchingError(ServiceError):
    """Base class of what the live loop refuses on purpose; ``code`` is set per subclass."""

    code = "matching_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(type(self).code, message)


class FrameError(ServiceError):
    """A refused client frame (bad input, wrong state, or a limit): an ``error`` frame, the
    socket stays open.

    ``message`` is plain text in the socket's language (the consumer activates it around every
    frame), never a lazy translation: frames are JSON. Browsers word errors by ``code``.
    """

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after

    def frame(self) -> dict[str, Any]:
        return error_frame(self.code, self.message, self.retry_after)


def error_frame(code: str, message: str, retry_after: int | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return frame


class MatchingUnavailable(MatchingError):
    """Redis (the state role) did not answer; the client gets an ``unavailable`` error frame."""

    code = "unavailable"
    status = 503


class AlreadyMatched(MatchingError):
    """The identity is in a live match (another tab, or another joiner paired it meanwhile).

    ``pairing`` is that match seen from the caller; ``channel`` is the caller's socket on record
    in it (another socket's match is not this socket's to take over).
    """

    code = "already_matched"

    def __init__(self, pairing: Pairing, channel: str) -> None:
        super().__init__(f"already in match {pairing.match_id}")
        self.pairing = pairing
        self.channel = channel


class BanCheckNeeded(MatchingError):
    """The ban mirror cannot answer for this join alone (it is not ready, or an account comes
    from a banned network): ask Postgres (``services.ban_until``), then join with ``network=""``.
    Nothing in the pool changed."""

    code = "check_bans"


class NotQueued(MatchingError):
    """``retry`` found no ticket: it expired (missed heartbeats) or the caller left. Join again."""

    code = "not_queued"


# --- Preferences --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """What a joiner asks for. Build from client input with :meth:`from_client` (never raises)."""

    interests: tuple[str, ...] = ()  # tags (profiles.interests), at most MAX_COUNT
    lang: str | None = None  # the joiner's chosen language (ISO 639-1); None = any language
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


# --- Outcomes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """What a side learns when a match forms (from a join or retry, or from the initiator)."""

    match_id: str
    partner_id: str
    partner_channel: str  # Channels channel name of the partner's socket
    initiator: bool  # True for the side whose join formed the match: it makes the WebRTC offer
    common_interests: tuple[str, ...]
    stage: str  # "interest" | "language" | "anyone": the widest rule this pair needed
    started_at: float
    waited_seconds: float  # this side's join -> matched
    partner_waited_seconds: float
    partner_card: dict[str, Any] = field(default_factory=dict, compare=False)  # public card, may be {}


@dataclass(frozen=True)
class Queued:
    """The caller waits in the pool at widening ``stage``; ``waiting`` people are in the pool now."""

    stage: str
    waited_seconds: float
    waiting: int


@dataclass(frozen=True)
class Matched:
    pairing: Pairing


@dataclass(frozen=True)
class Banned:
    """The caller is in ``keys.banned()`` until ``until`` (unix seconds; ``inf``: permanent)."""

    until: float


@dataclass(frozen=True)
class Replaced:
    """A newer socket of the same identity took over; this one must close (4409)."""


JoinOutcome = Matched | Queued | Banned | Replaced


@dataclass(frozen=True)
class EndedMatch:
    """A match that was just ended (seen from the caller: ``partner_*`` is the other side)."""

    match_id: str
    a: str  # the initiator
    b: str
    partner_id: str
    partner_channel: str
    started_at: float
    ended_at: float
    common_interests: tuple[str, ...] = field(default=())
