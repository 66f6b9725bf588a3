"""The match history admin: list with duration, filters by date and end reason, search."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model

from matching import services
from matching.admin import format_duration

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw-123456-long")
    client.force_login(admin)
    return client


def _match(match_id: str, reason: str, names: tuple[str, str], duration: float) -> None:
    now = time.time()
    services.record_match(
        match_id=match_id,
        identity_a="g" + match_id,
        identity_b="gz" + match_id,
        started_at=now - duration,
        ended_at=now,
        ended_by="g" + match_id,
        end_reason=reason,
        common_interests=["chess"],
        name_a=names[0],
        name_b=names[1],
    )


def test_format_duration():
    assert format_duration(0) == "0s"
    assert format_duration(95.4) == "1m 35s"
    assert format_duration(3725) == "1h 2m 5s"


def test_list_filters_and_search(admin_client):
    _match("m1", "next", ("Quiet Otter 101", "Brave Fox 202"), 95.4)
    _match("m2", "report", ("Calm Heron 303", "Wild Yak 404"), 10)
    page = admin_client.get("/admin/matching/match/")
    assert page.status_code == 200
    assert b"1m 35s" in page.content and b"Calm Heron 303" in page.content
    only_reports = admin_client.get("/admin/matching/match/?end_reason__exact=report")
    assert b"Calm Heron 303" in only_reports.content and b"Quiet Otter 101" not in only_reports.content
    today = admin_client.get("/admin/matching/match/?ended_at__gte=2000-01-01T00:00:00%2B00:00")
    assert b"Quiet Otter 101" in today.content
    found = admin_client.get("/admin/matching/match/?q=Otter")
    assert b"Quiet Otter 101" in found.content and b"Calm Heron 303" not in found.content
    by_identity = admin_client.get("/admin/matching/match/?q=gzm2")
    assert b"Calm Heron 303" in by_identity.content and b"Quiet Otter 101" not in by_identity.content
    detail = admin_client.get("/admin/matching/match/m1/change/")
    assert detail.status_code == 200
    assert admin_client.get("/admin/matching/match/add/").status_code == 403
