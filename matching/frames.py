"""Validation of client frames on ``/ws/chat/``: bytes in, a typed frame or a FrameError out.

Every rule of the protocol's input side lives here, so the consumer only dispatches. Nothing a
client sends names a channel, a group or a user: relays go to the partner the server recorded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from matching.types import FrameError, Preferences, error_frame
from moderation.models import NOTE_MAX_LENGTH
from moderation.snapshots import SNAPSHOT_MAX_BYTES

__all__ = ["Frame", "FrameError", "error_frame", "parse", "preferences"]

MAX_FRAME_BYTES = 64 * 1024
MAX_CHAT_CHARS = 1000
MAX_NOTE_CHARS = NOTE_MAX_LENGTH  # the report's own field decides
MAX_INTERESTS_IN = 50  # more are refused; the pool keeps the first 10 clean ones
MAX_INTEREST_CHARS_IN = 100
REPORT_REASONS = ("nudity", "harassment", "spam", "underage", "other")
CLIENT_TYPES = (
    "join",
    "next",
    "leave",
    "signal",
    "chat",
    "ping",
    "like",
    "report",
    "block",
    "friend",
    "call",
    "answer",
)
MAX_USERNAME_CHARS = 150  # Django's username length
_CALL_ID = re.compile(r"^[0-9a-f]{32}$")

_LANG_PRIMARY = re.compile(r"^[a-z]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Frame:
    """A valid client frame. ``fields`` holds the cleaned fields of its type."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)


def _bad(name: str, why: str) -> FrameError:
    return FrameError("bad_field", f"{name}: {why}")


def _join_fields(obj: dict[str, Any]) -> dict[str, Any]:
    interests = obj.get("interests", [])
    if interests is None:
        interests = []
    if not isinstance(interests, list):
        raise _bad("interests", _("must be a list of strings"))
    if len(interests) > MAX_INTERESTS_IN:
        raise _bad("interests", _("at most %(count)d items") % {"count": MAX_INTERESTS_IN})
    for item in interests:
        if not isinstance(item, str) or len(item) > MAX_INTEREST_CHARS_IN:
            raise _bad(
                "interests",
                _("each item must be a string of at most %(count)d characters")
                % {"count": MAX_INTEREST_CHARS_IN},
            )

    lang = obj.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise _bad("lang", _("must be a string"))
    # Browsers say "en-US"; the pool matches on the primary subtag.
    lang_code = (lang or "").strip().replace("_", "-").split("-")[0].lower()
    if lang_code and not _LANG_PRIMARY.match(lang_code):
        raise _bad("lang", _("must be an ISO 639-1 language code such as 'en'"))

    only_lang = obj.get("only_lang", False)
    if not isinstance(only_lang, bool):
        raise _bad("only_lang", _("must be true or false"))
    if only_lang and not lang_code:
        raise _bad("only_lang", _("needs lang"))

    only_country = obj.get("only_country", "")
    if only_country is None:
        only_country = ""
    if not isinstance(only_country, str):
        raise _bad("only_country", _("must be a string"))
    only_country = only_country.strip().upper()
    if only_country and not _COUNTRY.match(only_country):
        raise _bad("only_country", _("must be an ISO 3166-1 alpha-2 code such as 'DE'"))

    return {
        "interests": interests,
        "lang": lang_code or None,
        "only_lang": only_lang,
        "only_country": only_country,
    }


def preferences(fields: dict[str, Any], *, country: str = "") -> Preferences:
    """Pool preferences from a validated ``join`` frame plus the joiner's own profile country."""
    return Preferences.from_client(
        interests=fields["interests"],
        lang=fields["lang"],
        country=country,
        only_lang=fields["only_lang"],
        only_country=fields["only_country"],
    )


def _signal_fields(obj: dict[str, Any]) -> dict[str, Any]:
    data = obj.get("data")
    if not isinstance(data, dict):
        raise _bad("data", _("must be an object"))
    return {"data": data}


def _chat_fields(obj: dict[str, Any]) -> dict[str, Any]:
    text = obj.get("text")
    if not isinstance(text, str):
        raise _bad("text", _("must be a string"))
    if not text.strip():
        raise _bad("text", _("must not be empty"))
    if len(text) > MAX_CHAT_CHARS:
        raise _bad("text", _("at most %(count)d characters") % {"count": MAX_CHAT_CHARS})
    return {"text": text}


def _report_fields(obj: dict[str, Any]) -> dict[str, Any]:
    reason = obj.get("reason")
    if not isinstance(reason, str) or reason not in REPORT_REASONS:
        raise _bad("reason", _("must be one of %(choices)s") % {"choices": ", ".join(REPORT_REASONS)})
    note = obj.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise _bad("note", _("must be a string"))
    if len(note) > MAX_NOTE_CHARS:
        raise _bad("note", _("at most %(count)d characters") % {"count": MAX_NOTE_CHARS})
    return {"reason": reason, "note": note, "snapshot": _snapshot(obj.get("snapshot"), reason)}


def _snapshot(value: Any, reason: str) -> bytes | None:
    """A nudity report's still of the partner's video: base64 of at most SNAPSHOT_MAX_BYTES.

    Refused with its own code, ``bad_snapshot``, so a client can file the report without it.
    Whether the bytes are a real image is moderation's call (``moderation.snapshots``).
    """
    if value is None:
        return None
    if reason != "nudity":
        raise FrameError("bad_snapshot", "snapshot: " + _("only a nudity report carries one"))
    if not isinstance(value, str) or len(value) > (SNAPSHOT_MAX_BYTES + 2) // 3 * 4:
        raise FrameError(
            "bad_snapshot",
            "snapshot: " + _("base64 of at most %(count)d bytes") % {"count": SNAPSHOT_MAX_BYTES},
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FrameError("bad_snapshot", "snapshot: " + _("not base64")) from None


def _call_fields(obj: dict[str, Any]) -> dict[str, Any]:
    username = obj.get("username")
    if not isinstance(username, str) or not username.strip():
        raise _bad("username", _("must be a non-empty string"))
    if len(username) > MAX_USERNAME_CHARS:
        raise _bad("username", _("at most %(count)d characters") % {"count": MAX_USERNAME_CHARS})
    return {"username": username.strip()}


def _answer_fields(obj: dict[str, Any]) -> dict[str, Any]:
    call_id = obj.get("call_id")
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        raise _bad("call_id", _("must be the call_id of an incoming_call"))
    accept = obj.get("accept")
    if not isinstance(accept, bool):
        raise _bad("accept", _("must be true or false"))
    return {"call_id": call_id, "accept": accept}


_FIELDS = {
    "join": _join_fields,
    "call": _call_fields,
    "answer": _answer_fields,
    "signal": _signal_fields,
    "chat": _chat_fields,
    "report": _report_fields,
}


def _encodable(value: Any) -> bool:
    """True when every string in ``value`` (keys too, at any depth) encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _may_hold_lone_surrogates(text: str) -> bool:
    """A parsed frame can hold a lone surrogate only if its text spells one as a JSON escape
    or holds one raw: most frames have neither, and skip the walk over every string."""
    if "\\u" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse(text_data: str | None = None, bytes_data: bytes | None = None) -> Frame:
    """Validate one WebSocket message. Raises FrameError with the code the client sees."""
    if text_data is None:
        size = len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            raise FrameError(
                "too_large", _("frames are limited to %(count)d bytes") % {"count": MAX_FRAME_BYTES}
            )
        raise FrameError("bad_json", _("binary frames are not accepted: send JSON text"))
    # Cheap bound first (a char is at most 4 bytes), exact UTF-8 size only when it matters.
    if len(text_data) > MAX_FRAME_BYTES or (
        len(text_data) * 4 > MAX_FRAME_BYTES
        and len(text_data.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES
    ):
        raise FrameError("too_large", _("frames are limited to %(count)d bytes") % {"count": MAX_FRAME_BYTES})
    try:
        obj = json.loads(text_data)
    except (ValueError, RecursionError):
        raise FrameError("bad_json", _("the frame is not valid JSON")) from None
    if not isinstance(obj, dict):
        raise FrameError("bad_json", _("a frame must be a JSON object"))
    for name, value in obj.items() if _may_hold_lone_surrogates(text_data) else ():
        if not _encodable(name) or not _encodable(value):
            # JSON may spell a lone surrogate ("\ud800"); it cannot be relayed, stored or logged
            # as UTF-8, so it is the client's error, not ours.
            raise _bad(str(name).encode("utf-8", "replace").decode(), _("must be valid Unicode text"))
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise FrameError("bad_field", "type: " + _("must be a string"))
    if kind not in CLIENT_TYPES:
        shown = kind[:40]
        raise FrameError("unknown_type", _("unknown frame type %(type)r") % {"type": shown})
    builder = _FIELDS.get(kind)
    return Frame(type=kind, fields=builder(obj) if builder else {})
