"""Snapshots on nudity reports: validated, re-encoded, kept with the evidence, shown to
moderators, dropped with the transcript. Every image here is drawn by Pillow (flat colours)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from PIL import Image

from moderation import services, snapshots
from moderation.models import Report, ReportSnapshot
from moderation.snapshots import SNAPSHOT_MAX_BYTES, InvalidSnapshot, clean_snapshot
from moderation.tests.helpers import user_identity

pytestmark = pytest.mark.django_db


def picture(fmt: str = "JPEG", size: tuple[int, int] = (320, 240), **save) -> bytes:
    image = Image.new("RGB", size, (40, 90, 160))
    image.paste((220, 200, 60), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def blank_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    data = out.getvalue()
    assert len(data) <= SNAPSHOT_MAX_BYTES
    return data


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- Validation ---------------------------------------------------------------------------


def test_a_jpeg_is_re_encoded_without_its_metadata_or_trailing_bytes():
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    original = picture(exif=exif.tobytes()) + b"<script>trailing</script>"
    clean = clean_snapshot(original)
    assert clean.jpeg != original and clean.jpeg.startswith(b"\xff\xd8")
    assert b"CameraMaker" not in clean.jpeg and b"trailing" not in clean.jpeg
    image = decoded(clean.jpeg)
    assert image.format == "JPEG" and image.size == (320, 240) == (clean.width, clean.height)
    assert not image.getexif()


def test_a_png_is_kept_as_a_jpeg_and_a_large_one_shrinks():
    clean = clean_snapshot(picture("PNG", size=(1280, 720)))
    image = decoded(clean.jpeg)
    assert image.format == "JPEG"
    assert max(image.size) == snapshots.STORED_MAX_SIDE and image.size == (clean.width, clean.height)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"", "empty"),
        (b"not an image at all", "not a readable"),
        (picture("GIF"), "JPEG or PNG"),
        (picture("BMP", size=(64, 48)), "JPEG or PNG"),
        (picture()[:200], "not a readable"),  # cut short
        (b"x" * (SNAPSHOT_MAX_BYTES + 1), f"at most {SNAPSHOT_MAX_BYTES}"),
        # A tiny file that claims a vast canvas (a decompression bomb) is refused unread.
        (blank_png(4000, 4000), "dimensions"),
    ],
    ids=["empty", "garbage", "gif", "bmp", "truncated", "too-large", "huge-canvas"],
)
def test_anything_but_a_sane_jpeg_or_png_is_refused(data, why):
    with pytest.raises(InvalidSnapshot, match=why) as caught:
        clean_snapshot(data)
    assert caught.value.code == "bad_snapshot"


# --- Reports ------------------------------------------------------------------------------


def test_a_nudity_report_keeps_its_snapshot(django_capture_on_commit_callbacks):
    a, b = user_identity("anna"), user_identity("boris")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.report(
            match_id="m1", reporter=a, reported_id=b.id, reason="nudity", note="", snapshot=picture()
        )
    still = ReportSnapshot.objects.get(report__match_id="m1")
    assert decoded(bytes(still.jpeg)).size == (320, 240)
    # A repeat of the same report changes nothing, snapshot included.
    assert not services.report(
        match_id="m1", reporter=a, reported_id=b.id, reason="nudity", note="", snapshot=picture(size=(64, 64))
    )
    assert ReportSnapshot.objects.get(report__match_id="m1").width == 320


@pytest.mark.parametrize("reason, data", [("spam", picture()), ("nudity", b"GIF89a not really")])
def test_a_bad_or_misplaced_snapshot_refuses_the_report_before_anything_is_written(reason, data):
    a, b = user_identity("anna"), user_identity("boris")
    with pytest.raises(InvalidSnapshot):
        services.report(match_id="m1", reporter=a, reported_id=b.id, reason=reason, note="", snapshot=data)
    assert not Report.objects.exists() and not ReportSnapshot.objects.exists()


# --- Moderators ---------------------------------------------------------------------------


def test_the_report_page_shows_the_snapshot_to_moderators(
    admin_client, client, django_capture_on_commit_callbacks
):
    a, b, c = user_identity("anna"), user_identity("boris"), user_identity("chloe")
    with django_capture_on_commit_callbacks(execute=True):
        services.report(
            match_id="m1", reporter=a, reported_id=b.id, reason="nudity", note="", snapshot=picture()
        )
        services.report(match_id="m2", reporter=c, reported_id=b.id, reason="spam", note="")
    with_still = Report.objects.get(match_id="m1")
    for path in (
        f"/admin/moderation/reportqueue/{with_still.pk}/change/",
        f"/admin/moderation/report/{with_still.pk}/change/",
    ):
        html = admin_client.get(path).content.decode()
        found = re.search(
            r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"[^>]*data-testid="report-snapshot"', html
        )
        assert found, html
        assert base64.b64decode(found.group(1)) == bytes(with_still.snapshot.jpeg)
    without = Report.objects.get(match_id="m2")
    html = admin_client.get(f"/admin/moderation/report/{without.pk}/change/").content.decode()
    assert "No snapshot" in html and "report-snapshot" not in html
    # Only staff reach the page; the still has no other URL.
    assert client.get(f"/admin/moderation/report/{with_still.pk}/change/").status_code == 302


# --- Retention ----------------------------------------------------------------------------


def test_snapshots_of_old_decided_reports_are_purged_with_the_transcript(
    admin_user, django_capture_on_commit_callbacks
):
    a, b, c = user_identity("anna"), user_identity("boris"), user_identity("chloe")
    with django_capture_on_commit_callbacks(execute=True):
        for match_id, reporter in (("m-decided", a), ("m-open", c)):
            services.report(
                match_id=match_id,
                reporter=reporter,
                reported_id=b.id,
                reason="nudity",
                note="",
                snapshot=picture(),
            )
    decided = Report.objects.get(match_id="m-decided")
    services.dismiss_report(report_id=decided.pk, moderator=admin_user)
    Report.objects.update(created=timezone.now() - dt.timedelta(days=services.EVIDENCE_RETENTION_DAYS - 1))
    assert services.prune_evidence() == 0  # not old enough yet
    Report.objects.update(created=timezone.now() - dt.timedelta(days=services.EVIDENCE_RETENTION_DAYS + 1))
    assert services.prune_evidence() == 1
    assert list(ReportSnapshot.objects.values_list("report__match_id", flat=True)) == [
        "m-open"
    ]  # under review: kept
    assert Report.objects.filter(match_id="m-decided").exists()  # the decision and reason stay
    assert services.prune_evidence() == 0
