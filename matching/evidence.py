"""Evidence for a report, from what the live loop holds about a match right now.

Matching owns the transcript buffer and the match records, so it gathers them and hands them to
``moderation.services.report``; moderation never reads matching's keys or tables itself.
"""

from __future__ import annotations

import json
import logging

import redis
from django.conf import settings

from matching import selectors
from matching.models import Match
from seendr import keys
from seendr.redis_state import state

log = logging.getLogger(__name__)

# Evidence is bounded: the newest lines of the transcript (as many as the consumer keeps,
# ``CHAT_TRANSCRIPT_LINES``), each cut to a sane length.
TRANSCRIPT_MAX_LINE_CHARS = 2000


def collect(*, match_id: str) -> dict:
    """The chat lines, the live record and the stored record of ``match_id`` (each best effort)."""
    return {
        "transcript": _transcript(match_id),
        "live_match": _live_record(match_id),
        "match": _history_record(match_id),
    }


def _transcript(match_id: str) -> list:
    try:
        # The consumer LPUSHes each line (newest first); evidence reads oldest first.
        raw = list(reversed(state().lrange(keys.transcript(match_id), 0, settings.CHAT_TRANSCRIPT_LINES - 1)))
    except redis.RedisError as exc:
        log.warning("report evidence: transcript of %s unreadable: %s", match_id, exc)
        return [{"error": "transcript unavailable (redis down)"}]
    lines = []
    for item in raw:
        try:
            line = json.loads(item)
        except ValueError:
            line = item
        if isinstance(line, str):
            line = line[:TRANSCRIPT_MAX_LINE_CHARS]
        elif isinstance(line, dict) and isinstance(line.get("text"), str):
            line["text"] = line["text"][:TRANSCRIPT_MAX_LINE_CHARS]
        lines.append(line)
    return lines


def _live_record(match_id: str) -> dict | None:
    try:
        return selectors.match_record(match_id=match_id)
    except Exception as exc:  # noqa: BLE001 - evidence is best effort; the report must still land
        log.warning("report evidence: live record of %s unreadable: %s", match_id, exc)
        return None


def _history_record(match_id: str) -> dict | None:
    row = (
        Match.objects.filter(pk=match_id)
        .values(
            "identity_a",
            "identity_b",
            "name_a",
            "name_b",
            "common_interests",
            "started_at",
            "ended_at",
            "duration_seconds",
            "ended_by",
            "end_reason",
        )
        .first()
    )
    if row is None:
        return None
    return json.loads(json.dumps(row, default=str))
