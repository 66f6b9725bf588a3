"""A nudity report over the chat socket carries the reporter's snapshot of the partner's video."""

from __future__ import annotations

import base64
import io

import pytest
from asgiref.sync import sync_to_async
from PIL import Image

from matching.frames import MAX_FRAME_BYTES
from matching.tests.wsutil import expect, matched_pair, send
from moderation.snapshots import SNAPSHOT_MAX_BYTES

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg_base64(size=(320, 240)) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(out, format="JPEG")
    return base64.b64encode(out.getvalue()).decode()


def stored_snapshot(match_id: str):
    from moderation.models import ReportSnapshot

    return ReportSnapshot.objects.filter(report__match_id=match_id).first()


async def test_a_nudity_report_frame_stores_its_snapshot():
    _, a_comm, a_matched, _, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "report", "reason": "nudity", "snapshot": jpeg_base64()})
    await expect(a_comm, "reported")
    still = await sync_to_async(stored_snapshot)(a_matched["match_id"])
    assert still is not None and (still.width, still.height) == (320, 240)
    await a_comm.disconnect()
    await b_comm.disconnect()


async def test_the_largest_snapshot_fits_a_frame_with_the_longest_note():
    encoded = base64.b64encode(b"\xff" * SNAPSHOT_MAX_BYTES).decode()
    note = "\u20ac" * 1000  # three UTF-8 bytes each
    frame = f'{{"type":"report","reason":"nudity","note":"{note}","snapshot":"{encoded}"}}'
    assert len(frame.encode()) < MAX_FRAME_BYTES


@pytest.mark.parametrize(
    "snapshot",
    [
        "not base64!",
        base64.b64encode(b"plain text, not a picture").decode(),
        base64.b64encode(b"\xff" * (SNAPSHOT_MAX_BYTES + 1)).decode(),
        42,
    ],
    ids=["not-base64", "not-an-image", "too-large", "not-a-string"],
)
async def test_a_bad_snapshot_gets_an_error_and_the_report_can_follow_without_it(snapshot):
    _, a_comm, a_matched, _, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "report", "reason": "nudity", "snapshot": snapshot})
    error = await expect(a_comm, "error")
    assert error["code"] == "bad_snapshot"
    await send(a_comm, {"type": "report", "reason": "nudity"})  # what the page does next
    await expect(a_comm, "reported")
    assert await sync_to_async(stored_snapshot)(a_matched["match_id"]) is None
    await a_comm.disconnect()
    await b_comm.disconnect()


async def test_only_a_nudity_report_carries_a_snapshot():
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    await send(a_comm, {"type": "report", "reason": "spam", "snapshot": jpeg_base64()})
    assert (await expect(a_comm, "error"))["code"] == "bad_snapshot"
    await a_comm.disconnect()
    await b_comm.disconnect()
