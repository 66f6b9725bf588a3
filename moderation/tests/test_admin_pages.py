"""A report's own admin page as a moderator uses it: decision buttons, readable evidence, the queue
on the admin index, and the live page's times."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from moderation import services
from moderation.models import ActionKind, Ban, ModerationAction, Report, ReportStatus
from moderation.tests.helpers import user_identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(django_capture_on_commit_callbacks) -> Report:
    reporter, reported = user_identity("rita"), user_identity("rex")
    with django_capture_on_commit_callbacks(execute=True):
        services.report(
            match_id="m-1", reporter=reporter, reported_id=reported.id, reason="harassment", note=""
        )
    row = Report.objects.get()
    row.evidence = {
        "captured_at": "2026-01-02T03:04:05+00:00",
        "transcript": [
            {"from": reporter.id, "name": "rita", "role": "reporter", "at": 1767323040.0, "text": "hi"},
            {
                "from": reported.id,
                "name": "rex",
                "role": "reported",
                "at": 1767323045.5,
                "text": "<b>rude</b>",
            },
        ],
        "match": {"common_interests": ["chess"], "duration_seconds": 42, "end_reason": "report"},
    }
    row.save(update_fields=["evidence"])
    return row


def page(admin_client, report: Report) -> str:
    return admin_client.get(f"/admin/moderation/reportqueue/{report.pk}/change/").content.decode()


def test_evidence_reads_as_lines_and_labelled_fields(admin_client, report):
    html = page(admin_client, report)
    assert re.search(r"<td>03:04:05</td><td><strong>rex</strong> <small>reported</small></td>", html), html
    assert "&lt;b&gt;rude&lt;/b&gt;" in html and "<b>rude</b>" not in html  # escaped, never markup
    assert "<dt>common interests</dt><dd>chess</dd>" in html
    assert "<dt>duration seconds</dt><dd>42</dd>" in html


@pytest.mark.parametrize(("decision", "days"), [("ban_7", 7), ("ban_forever", None)])
def test_ban_buttons_on_the_report_page(
    admin_client, admin_user, report, decision, days, django_capture_on_commit_callbacks
):
    html = page(admin_client, report)
    for value in ("dismiss", "warn", "ban_1", "ban_7", "ban_30", "ban_forever"):
        assert f'name="decision" value="{value}"' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/moderation/reportqueue/{report.pk}/decide/", {"decision": decision}, follow=True
        )
    assert response.redirect_chain[-1][0] == "/admin/moderation/reportqueue/"
    assert "Banned rex" in response.content.decode()
    ban = Ban.objects.get()
    assert (ban.identity_id, ban.created_by) == (report.reported_identity, admin_user)
    if days is None:
        assert ban.until is None
    else:
        assert abs((ban.until - (timezone.now() + dt.timedelta(days=days))).total_seconds()) < 60
    assert Report.objects.get().status == ReportStatus.BANNED
    # Decided: the page no longer offers decisions, and a second POST changes nothing.
    assert 'name="decision"' not in page(admin_client, report)
    again = admin_client.post(
        f"/admin/moderation/reportqueue/{report.pk}/decide/", {"decision": "dismiss"}, follow=True
    )
    assert "already decided" in again.content.decode()
    assert Report.objects.get().status == ReportStatus.BANNED and Ban.objects.count() == 1


def test_dismiss_and_warn_buttons(admin_client, admin_user, report):
    admin_client.post(f"/admin/moderation/report/{report.pk}/decide/", {"decision": "warn"})
    assert Report.objects.get().status == ReportStatus.WARNED
    assert ModerationAction.objects.get().kind == ActionKind.WARN


def test_decide_refuses_get_unknown_decisions_and_non_staff(admin_client, client, report):
    url = f"/admin/moderation/report/{report.pk}/decide/"
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, {"decision": "ban_9999"}, follow=True)
    assert "Choose one of the decisions" in response.content.decode()
    assert (
        admin_client.post("/admin/moderation/report/999999/decide/", {"decision": "warn"}).status_code == 404
    )
    assert client.post(url, {"decision": "warn"}).status_code == 302  # to the admin log-in
    assert Report.objects.get().status == ReportStatus.OPEN


def test_admin_index_shows_the_queue_before_the_apps(admin_client, report):
    html = admin_client.get("/admin/").content.decode()
    queue = html.index('data-testid="admin-queue"')
    assert "1 open report" in html[queue:]
    assert queue < html.index('id="content-main"')


def test_live_page_says_updated_as_a_time(admin_client):
    html = admin_client.get("/admin/live/").content.decode()
    match = re.search(r'Updated <time data-live="updated" datetime="([^"]+)">(\d\d:\d\d:\d\d)</time>', html)
    assert match, html[:2000]
    assert abs(dt.datetime.fromisoformat(match.group(1)) - timezone.now()) < dt.timedelta(minutes=1)
