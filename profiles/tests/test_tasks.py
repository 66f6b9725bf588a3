from __future__ import annotations

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from profiles import selectors
from profiles.models import Profile


@pytest.mark.slow
def test_avatar_upload_gets_a_thumbnail_from_a_real_worker(
    client, make_user, settings, tmp_path, celery_worker_process
):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    celery_worker_process(MEDIA_ROOT=str(media))
    user = make_user("painter")
    client.force_login(user)
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (0, 90, 200)).save(out, "PNG")
    response = client.post(
        "/profile/",
        {
            "display_name": "Painter",
            "bio": "",
            "country": "",
            "languages": "",
            "interests": "",
            "avatar": SimpleUploadedFile("me.png", out.getvalue(), content_type="image/png"),
        },
    )
    assert response.status_code == 302

    deadline = time.monotonic() + 45
    profile = Profile.objects.get(user=user)
    while not profile.avatar_thumbnail and time.monotonic() < deadline:
        time.sleep(0.2)
        profile.refresh_from_db()
    assert profile.avatar_thumbnail, "the worker made no thumbnail"
    with Image.open(media / profile.avatar_thumbnail.name) as thumb:
        assert thumb.size == (128, 128)
    # The worker refreshed the cached profile: pages now show the thumbnail.
    assert selectors.get_profile_record(username="painter")["avatar"] == profile.avatar_thumbnail.url
    assert profile.avatar_thumbnail.url.encode() in client.get("/u/painter/").content
