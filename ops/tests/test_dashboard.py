import re
import time

import pytest
from django.contrib.auth import get_user_model

from ops.dashboard import CHART_HEIGHT
from ops.services import record_task_outcome
from seendr.testing.factories import make_match

pytestmark = pytest.mark.django_db

LIVE = "/admin/live/"
DATA = "/admin/live.json"


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("opsstaff", password="pw-123456789", is_staff=True)
    client.force_login(user)
    return client


def tile(html: str, name: str) -> str:
    match = re.search(rf'data-live="{name}">([^<]*)<', html)
    assert match, f"no tile {name}"
    return match.group(1).strip()


@pytest.mark.parametrize("url", [LIVE, DATA])
def test_anonymous_visitors_are_sent_to_the_admin_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", [LIVE, DATA])
def test_non_staff_users_are_sent_to_the_admin_login(client, url):
    user = get_user_model().objects.create_user("plainuser", password="pw-123456789")
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_live_page_shows_real_numbers_after_matches(staff_client):
    now = time.time()
    make_match(waited=3.0, now=now)
    make_match(waited=1.0, now=now, interest="chess")
    make_match(waited=5.0, now=now, interest="go")
    record_task_outcome(task="ops.tasks.sweep_pool_task", outcome="failure", error="RuntimeError('boom')")

    response = staff_client.get(LIVE)
    assert response.status_code == 200
    html = response.content.decode()
    assert tile(html, "matches_last_hour") == "3"
    assert tile(html, "in_call") == "6"
    assert tile(html, "waiting") == "0"
    # Sides waited 3, 0, 1, 0, 5, 0: the median is 0.5.
    assert tile(html, "median_wait_seconds") == "0.5 s"
    assert tile(html, "failed_tasks") == "1"
    assert tile(html, "celery_queued") == "0"
    assert "RuntimeError(&#x27;boom&#x27;)" in html
    # Four Redis roles, each answering.
    for role in ("cache", "state", "channels", "broker"):
        row = re.search(rf'<tr data-role="{role}">(.*?)</tr>', html, re.S)
        assert row and "down" not in row.group(1), role
    # The chart: 60 bars, the last one (this minute) at full height, the rest flat.
    bars = re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"><title>(\d+)</title>', html)
    assert len(bars) == 60
    assert bars[-1] == (str(float(CHART_HEIGHT - 4)), "3")
    assert all(float(height) == 0 for height, _ in bars[:-1])
    # Refreshes through an ES module; no inline script (the CSP forbids it).
    assert re.search(r'<script type="module" src="[^"]*js/admin_live\.js"></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_live_json_has_the_same_numbers(staff_client):
    now = time.time()
    make_match(waited=2.0, now=now)
    data = staff_client.get(DATA).json()
    assert data["matches_last_hour"] == 1
    assert data["in_call"] == 2
    assert data["median_wait_seconds"] == 1.0
    assert len(data["series"]) == 60 and data["series"][-1]["matches"] == 1
    assert data["chart"]["peak"] == 1
    assert set(data["redis_memory"]) == {"cache", "state", "channels", "broker"}
    assert data["celery"] == {"queued": 0, "unacked": 0}


def test_live_page_counts_open_reports(staff_client):
    from moderation.models import Report

    Report.objects.create(
        match_id="m1", reporter_identity="ga", reported_identity="gb", reason="spam", status="open"
    )
    Report.objects.create(
        match_id="m2", reporter_identity="gc", reported_identity="gd", reason="spam", status="dismissed"
    )
    assert staff_client.get(DATA).json()["open_reports"] == 1


def test_live_page_degrades_when_the_state_redis_is_down(staff_client, settings):
    settings.REDIS_STATE_URL = "redis://127.0.0.1:1/0"
    from seendr import redis_state

    redis_state.state.cache_clear()
    try:
        response = staff_client.get(LIVE)
    finally:
        redis_state.state.cache_clear()
    assert response.status_code == 200
    html = response.content.decode()
    assert tile(html, "matches_last_hour") == "—"
    assert tile(html, "online") == "—"


def test_admin_index_links_to_the_live_page(staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert f'href="{LIVE}"' in html
    assert 'id="content-main"' in html  # the stock index still renders around it
