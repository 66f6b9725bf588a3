"""The web's usual attacks against the real pages: CSP, CSRF, XSS, enumeration, password hashing."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from leaderboard import boards
from leaderboard.selectors import board_key
from matching import actions
from moderation.models import Report
from moderation.tests.helpers import live_match, make_user, say
from profiles.models import Profile
from profiles.services import invalidate_profile
from seendr.middleware import content_security_policy
from seendr.redis_state import state

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert("


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


# --- Headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/leaderboard/", "/no-such-page/", "/healthz"])
def test_every_response_carries_the_policy(client, path):
    response = client.get(path, HTTP_HOST="seendr.example")
    csp = directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["media-src"] == ["'self'", "blob:"]
    assert csp["connect-src"] == ["'self'", "ws://seendr.example", "wss://seendr.example"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_pages_hold_no_inline_script_or_style(client):
    """What the policy forbids must not be on our pages (else they break under it)."""
    user = make_user("inline")
    anonymous = ["/", "/accounts/login/", "/accounts/signup/", "/leaderboard/", "/accounts/password_reset/"]
    signed_in = ["/chat/", "/profile/", f"/u/{user.username}/", "/leaderboard/"]
    for path in anonymous + signed_in:
        if path == signed_in[0]:
            client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\sstyle=\"", html), path
        assert "<style" not in html, path
        assert not re.search(r"\son[a-z]+=\"", html), (path, "inline event handler")


def test_an_invalid_host_does_not_break_the_header(rf):
    request = rf.get("/", HTTP_HOST="evil.example:99999")
    with override_settings(ALLOWED_HOSTS=["seendr.example"]):
        assert "ws://" not in content_security_policy(request)


def test_csp_extra_widens_one_directive(rf):
    with override_settings(CSP_EXTRA={"img-src": ["https://cdn.example"]}):
        csp = directives(content_security_policy(rf.get("/")))
    assert csp["img-src"][-1] == "https://cdn.example"
    assert csp["script-src"] == ["'self'"]


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/guest/", {"adult": "on"}),
        ("/accounts/login/", {"username": "x", "password": "y"}),
        ("/accounts/signup/", {"username": "x"}),
        ("/accounts/password_reset/", {"email": "a@example.com"}),
        ("/api/matches/abc/like/", {}),
        ("/api/matches/abc/report/", {"reason": "spam"}),
    ],
)
def test_posts_without_a_csrf_token_are_refused(path, data):
    client = Client(enforce_csrf_checks=True)
    response = client.post(path, data)
    assert response.status_code == 403, (path, response.status_code)
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "csrf_failed"
    else:
        assert "CSRF" in response.content.decode()


def test_logged_in_posts_without_token_are_refused():
    user = make_user("victim")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/profile/", {"display_name": "pwned", "bio": "", "country": ""})
    assert response.status_code == 403
    assert Profile.objects.get(user=user).display_name != "pwned"
    assert client.post("/accounts/logout/").status_code == 403


@pytest.mark.parametrize(
    ("referer", "status"),
    [
        ("https://seendr.example/", 302),  # the positive control: same token, our own page
        ("https://evil.example/", 403),
        ("http://seendr.example/", 403),  # our host, but not over HTTPS
    ],
)
def test_over_https_only_our_own_referer_passes(referer, status):
    """Over HTTPS Django also checks the Referer: a token stolen for another site is useless."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = "A" * 32
    response = client.post(
        "/guest/",
        {"adult": "on", "csrfmiddlewaretoken": "A" * 32},
        secure=True,
        HTTP_REFERER=referer,
        HTTP_HOST="seendr.example",
    )
    assert response.status_code == status, response.content[:300]
    if status == 403:
        assert "CSRF" in response.content.decode()


# --- XSS: every user string is escaped wherever it is shown -------------------------------


def hostile_user(username: str = "mallory"):
    user = make_user(username)
    Profile.objects.filter(user=user).update(display_name=XSS[:50], bio=XSS)
    invalidate_profile(user_id=user.pk)
    return user


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert ESCAPED in html


def test_profile_page_escapes_name_and_bio(client):
    user = hostile_user()
    html = client.get(f"/u/{user.username}/").content.decode()
    assert_escaped(html)
    assert client.get(f"/api/profiles/{user.username}/").json()["bio"] == XSS  # JSON keeps it verbatim


def test_profile_not_found_page_escapes_the_username(client):
    response = client.get("/u/%3Cscript%3Ealert(1)%3C%2Fscript%3E/")
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.content.decode()


def test_leaderboard_page_escapes_names(client):
    user = hostile_user()
    state().zadd(board_key(board="likes", period="day", now=timezone.now()), {boards.member(user.pk): 3})
    html = client.get("/leaderboard/?board=likes&period=day").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_admin_queue_escapes_names_notes_and_transcript(admin_client, django_capture_on_commit_callbacks):
    from seendr.identity import for_user

    victim = for_user(make_user("victim"))
    troll = for_user(hostile_user())
    match_id = live_match(victim, troll)
    say(match_id, troll, XSS)
    with django_capture_on_commit_callbacks(execute=True):
        actions.report_partner(
            match_id=match_id, reporter=victim, partner_id=troll.id, reason="harassment", note=XSS
        )
    report = Report.objects.get()
    assert report.reported_name.startswith("<script>")
    listing = admin_client.get("/admin/moderation/reportqueue/").content.decode()
    assert "<script>alert" not in listing and ESCAPED in listing
    detail = admin_client.get(f"/admin/moderation/report/{report.pk}/change/").content.decode()
    assert_escaped(detail)
    # The transcript is shown as readable lines, not a JSON blob.
    assert re.search(
        r'<tr class="reported"><td>\d\d:\d\d:\d\d</td><td><strong>&lt;script&gt;[^<]*</strong> '
        r"<small>reported</small></td><td>&lt;script&gt;",
        detail,
    )
    search = admin_client.get("/admin/moderation/report/?q=%3Cscript%3E").content.decode()
    assert "<script>alert" not in search


# --- Enumeration, hashing -----------------------------------------------------------------


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(
    client, django_capture_on_commit_callbacks
):
    make_user("known")
    with django_capture_on_commit_callbacks(execute=False):
        known = client.post("/accounts/password_reset/", {"email": "known@example.com"})
        unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    page_known = client.get(known["Location"]).content.decode()
    page_unknown = client.get(unknown["Location"]).content.decode()
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", page_known) == strip.sub("", page_unknown)
    assert mail.outbox == []  # mail goes out from a worker, so timing does not tell either


def test_sign_up_does_not_say_an_address_is_registered(client):
    make_user("taken")
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newname",
            "email": "taken@example.com",
            "birth_date": "1990-01-01",
            "password1": "a-Long-passw0rd!",
            "password2": "a-Long-passw0rd!",
        },
    )
    html = response.content.decode().lower()
    for telltale in ("already registered", "already exists", "already in use", "is taken"):
        assert telltale not in html


def test_log_in_failure_does_not_say_which_part_was_wrong(client):
    make_user("real")
    wrong_password = client.post(
        "/accounts/login/", {"username": "real", "password": "nope"}
    ).content.decode()
    no_user = client.post("/accounts/login/", {"username": "ghost", "password": "nope"}).content.decode()
    strip = re.compile(r'(name="csrfmiddlewaretoken" value="[^"]+"|value="[^"]*")')
    assert strip.sub("", wrong_password) == strip.sub("", no_user)


def test_new_passwords_are_hashed_with_argon2_under_production_hashers():
    from seendr import settings as production

    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        user = get_user_model().objects.create_user(username="argon", password="a-Long-passw0rd!")
        assert user.password.startswith("argon2$argon2id$")
        assert user.check_password("a-Long-passw0rd!")


# --- Odds and ends an attacker tries ------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_log_in_does_not_redirect_off_site(client, target):
    make_user("walker")
    response = client.post(
        f"/accounts/login/?next={target}", {"username": "walker", "password": "pw-123456!x", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL


def test_an_oversized_body_is_refused_without_a_500(client):
    user = make_user("big")
    client.force_login(user)
    body = '{"reason": "spam", "note": "' + "x" * (3 * 1024 * 1024) + '"}'
    response = client.post("/api/matches/abc/report/", data=body, content_type="application/json")
    assert response.status_code == 400


def test_the_session_cookie_is_not_readable_by_scripts(client):
    make_user("cookie")
    client.post("/accounts/login/", {"username": "cookie", "password": "pw-123456!x"})
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["httponly"]
    assert morsel["samesite"] == "Lax"
