"""Reads about matches: the live (Redis) record first, the durable (Postgres) history second."""

from __future__ import annotations


def match_participants(*, match_id: str) -> tuple[str, str] | None:
    """(a, b) identity ids of a live, recently ended, or recorded match; None if unknown."""
    raise NotImplementedError


def match_partner(*, match_id: str, identity_id: str) -> str | None:
    """The other participant of the match, or None if unknown or ``identity_id`` was not in it."""
    raise NotImplementedError
