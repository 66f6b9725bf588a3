from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from profiles.models import Profile

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def png_bytes(size=(300, 200), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def edit_data(**overrides) -> dict:
    data = {
        "display_name": "Ann",
        "bio": "hello",
        "country": "de",
        "languages": "de, EN",
        "interests": "Jazz",
    }
    data.update(overrides)
    return data


def test_public_page_escapes_display_name_and_bio(client, make_user):
    make_user("mallory", display_name=XSS[:50], bio=XSS)
    response = client.get("/u/mallory/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    api = client.get("/api/profiles/mallory/")
    assert api["Content-Type"] == "application/json"
    assert api.json()["bio"] == XSS  # data stays data; only HTML output is escaped


def test_public_page_shows_profile_and_verified_badge(client, make_user, django_capture_on_commit_callbacks):
    make_user("vera", display_name="Vera", bio="line one", country="PT", interests=["surf", "fado"])
    page = client.get("/u/vera/").content.decode()
    assert "Vera" in page and "Portugal" in page and "surf" in page
    assert 'data-testid="verified-badge"' not in page
    Profile.objects.filter(user__username="vera").update(email_verified=True)
    from profiles.services import invalidate_profile

    with django_capture_on_commit_callbacks(execute=True):
        invalidate_profile(user_id=Profile.objects.get(user__username="vera").user_id)
    assert 'data-testid="verified-badge"' in client.get("/u/vera/").content.decode()


def test_unknown_profile_page_is_a_404_page(client):
    response = client.get("/u/<b>nobody<b>/")
    assert response.status_code == 404
    assert b"No such profile" in response.content
    assert b"<b>nobody<b>" not in response.content
    assert b"&lt;b&gt;nobody&lt;b&gt;" in response.content


def test_edit_needs_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_edit_saves_normalised_values(client, make_user):
    user = make_user("ann")
    client.force_login(user)
    page = client.get("/profile/")
    for field in ("display_name", "bio", "country", "languages", "interests", "avatar"):
        assert f'name="{field}"' in page.content.decode()
    response = client.post(
        "/profile/", edit_data(interests="Jazz, jazz ,  Board   Games,chess", languages="de, EN, de")
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user=user)
    assert profile.country == "DE"
    assert profile.languages == ["de", "en"]
    assert sorted(i.name for i in profile.interests.all()) == ["board games", "chess", "jazz"]
    assert client.get("/profile/").context["form"].initial["interests"] == "board games, chess, jazz"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("country", "Germany"),
        ("bio", "b" * 301),
        ("display_name", "d" * 51),
        ("interests", ", ".join(f"tag{i}" for i in range(11))),
        ("interests", "x" * 41),
        ("interests", "jazz, <script>"),
        ("interests", "under_score"),
        ("languages", "english"),
    ],
)
def test_edit_rejects_bad_values_with_field_errors(client, make_user, field, value):
    user = make_user("bea", bio="kept")
    client.force_login(user)
    response = client.post("/profile/", edit_data(**{field: value}))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Profile.objects.get(user=user).bio == "kept"


def test_interests_accept_letters_of_any_script_and_hyphens(client, make_user):
    user = make_user("intl")
    client.force_login(user)
    response = client.post("/profile/", edit_data(interests="Café, k-pop, 日本語, 3d printing"))
    assert response.status_code == 302
    assert sorted(i.name for i in Profile.objects.get(user=user).interests.all()) == sorted(
        ["café", "k-pop", "日本語", "3d printing"]
    )


def test_avatar_upload_is_validated_by_pillow(client, make_user):
    user = make_user("pic")
    client.force_login(user)
    fake = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")
    response = client.post("/profile/", edit_data(avatar=fake))
    assert response.status_code == 400
    assert "avatar" in response.context["form"].errors


def test_avatar_upload_queues_a_thumbnail(
    client, make_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    user = make_user("pic")
    client.force_login(user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/profile/", edit_data(avatar=SimpleUploadedFile("me.png", png_bytes(), content_type="image/png"))
        )
    assert response.status_code == 302
    profile = Profile.objects.get(user=user)
    assert profile.avatar.name.endswith(".png")
    from profiles import tasks

    queued = [c for c in callbacks if getattr(c, "func", None) == tasks.make_avatar_thumbnail_task.delay]
    assert len(queued) == 1 and queued[0].args == (user.pk,)


def png_with_a_hidden_payload() -> bytes:
    """A valid PNG carrying a text chunk: what a polyglot or a tracker would hide in metadata."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 30)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "fmt", "suffix"),
    [
        ("me.pdf", "PNG", ".png"),
        ("me.eps", "PNG", ".png"),
        ("photo.png", "JPEG", ".jpg"),
        ("pic.gif", "WEBP", ".webp"),
    ],
)
def test_avatar_is_stored_by_its_detected_format_not_the_client_name(
    client, make_user, settings, tmp_path, filename, fmt, suffix
):
    """PNG bytes sent as ``me.pdf`` were stored and served as .pdf: the suffix follows the
    picture Pillow found, and the picture is re-encoded (nothing but pixels survives)."""
    settings.MEDIA_ROOT = tmp_path
    user = make_user("pic")
    client.force_login(user)
    data = png_with_a_hidden_payload() if fmt == "PNG" else png_bytes(fmt=fmt)
    response = client.post("/profile/", edit_data(avatar=SimpleUploadedFile(filename, data)))
    assert response.status_code == 302
    stored = Profile.objects.get(user=user).avatar
    assert stored.name.endswith(suffix), stored.name
    saved = (tmp_path / stored.name).read_bytes()
    assert b"<script>" not in saved
    with Image.open(io.BytesIO(saved)) as image:
        assert image.format == fmt
