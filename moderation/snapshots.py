"""Snapshots on nudity reports: a still of the reported person's video, taken by the reporter's
browser at report time. Only the re-encoded image is kept: whatever the client sent (metadata,
trailing bytes, another format) never reaches the database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from seendr.errors import ServiceError

# Base64 of this many bytes still fits a report frame under the 64 KiB frame limit.
SNAPSHOT_MAX_BYTES = 40_000
# A small file can still claim a huge canvas; refuse it before decoding any pixel.
SNAPSHOT_MAX_PIXELS = 1920 * 1080
STORED_MAX_SIDE = 640
STORED_QUALITY = 80
ACCEPTED_FORMATS = ("JPEG", "PNG")


class InvalidSnapshot(ServiceError):
    """A refused snapshot; ``why`` is a plain string in the active language."""

    def __init__(self, why: str) -> None:
        super().__init__("bad_snapshot", f"snapshot: {why}")


@dataclass(frozen=True)
class CleanSnapshot:
    jpeg: bytes
    width: int
    height: int


def clean_snapshot(data: bytes) -> CleanSnapshot:
    """Check that ``data`` is a real JPEG or PNG of sane size and re-encode it as a small JPEG."""
    if not data:
        raise InvalidSnapshot(_("empty"))
    if len(data) > SNAPSHOT_MAX_BYTES:
        raise InvalidSnapshot(_("at most %(count)d bytes") % {"count": SNAPSHOT_MAX_BYTES})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise InvalidSnapshot(_("must be a JPEG or PNG image"))
            width, height = probe.size
            if width < 1 or height < 1 or width * height > SNAPSHOT_MAX_PIXELS:
                raise InvalidSnapshot(_("image dimensions out of range"))
            probe.verify()
        # verify() leaves the image unusable; decode a fresh one.
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = image.convert("RGB")
            image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=STORED_QUALITY, optimize=True)
            return CleanSnapshot(jpeg=out.getvalue(), width=image.width, height=image.height)
    except InvalidSnapshot:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        raise InvalidSnapshot(_("not a readable JPEG or PNG image")) from None
