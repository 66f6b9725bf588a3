"""The moderation queue as a moderator uses it: real admin pages, real POSTed actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from moderation import selectors, services
from moderation.models import ActionKind, Ban, ModerationAction, Report, ReportStatus
from moderation.tests.helpers import user_identity
from seendr import keys
from seendr.redis_state import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(django_capture_on_commit_callbacks):
    a, b, c, d = (user_identity(n) for n in ("anna", "boris", "chloe", "dmitri"))
    with django_capture_on_commit_callbacks(execute=True):
        services.report(match_id="m-old", reporter=a, reported_id=b.id, reason="spam", note="")
        services.report(match_id="m-minor", reporter=c, reported_id=d.id, reason="underage", note="looks 14")
        services.report(match_id="m-new", reporter=d, reported_id=c.id, reason="harassment", note="")
    Report.objects.filter(match_id="m-old").update(created=timezone.now() - dt.timedelta(hours=2))
    return {r.match_id: r for r in Report.objects.all()}


def queue_order(html: str, reports: dict) -> list[str]:
    positions = {
        mid: html.find(f"/admin/moderation/reportqueue/{r.pk}/change/") for mid, r in reports.items()
    }
    assert all(p > 0 for p in positions.values()), positions
    return sorted(positions, key=positions.get)


def test_queue_lists_open_reports_underage_first_then_newest(admin_client, reports):
    html = admin_client.get("/admin/moderation/reportqueue/").content.decode()
    assert queue_order(html, reports) == ["m-minor", "m-new", "m-old"]
    assert "URGENT" in html


def test_queue_search_finds_usernames_and_identities(admin_client, reports):
    html = admin_client.get("/admin/moderation/reportqueue/?q=boris").content.decode()
    assert f"/reportqueue/{reports['m-old'].pk}/change/" in html
    assert f"/reportqueue/{reports['m-new'].pk}/change/" not in html
    ident = reports["m-minor"].reported_identity
    html = admin_client.get(f"/admin/moderation/report/?q={ident}").content.decode()
    assert f"/report/{reports['m-minor'].pk}/change/" in html


def act(admin_client, action: str, *reports: Report):
    return admin_client.post(
        "/admin/moderation/reportqueue/",
        {"action": action, "_selected_action": [r.pk for r in reports], "index": 0},
        follow=True,
    )


def test_dismiss_and_warn_are_recorded_with_the_moderator(admin_client, admin_user, reports):
    act(admin_client, "dismiss", reports["m-old"])
    act(admin_client, "warn", reports["m-new"])
    statuses = dict(Report.objects.values_list("match_id", "status"))
    assert statuses == {"m-old": "dismissed", "m-new": "warned", "m-minor": "open"}
    actions = ModerationAction.objects.values_list("kind", "moderator", "report__match_id")
    assert sorted(actions) == [("dismiss", admin_user.pk, "m-old"), ("warn", admin_user.pk, "m-new")]
    html = admin_client.get("/admin/moderation/reportqueue/").content.decode()
    assert queue_order(html, {"m-minor": reports["m-minor"]}) == ["m-minor"]
    assert f"/reportqueue/{reports['m-old'].pk}/change/" not in html


@pytest.mark.parametrize(
    ("action", "days"), [("ban_1", 1), ("ban_7", 7), ("ban_30", 30), ("ban_forever", None)]
)
def test_ban_actions(admin_client, admin_user, reports, action, days, django_capture_on_commit_callbacks):
    target = reports["m-minor"]
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, action, target)
    assert response.status_code == 200
    ban = Ban.objects.get()
    assert (ban.identity_id, ban.created_by, ban.report) == (target.reported_identity, admin_user, target)
    if days is None:
        assert ban.until is None
        assert state().zscore(keys.banned(), ban.identity_id) == selectors.FOREVER_SCORE
    else:
        expected = timezone.now() + dt.timedelta(days=days)
        assert abs((ban.until - expected).total_seconds()) < 60
        assert state().zscore(keys.banned(), ban.identity_id) == pytest.approx(ban.until.timestamp())
    # Every open report about the banned person leaves the queue.
    assert Report.objects.get(pk=target.pk).status == ReportStatus.BANNED
    assert ModerationAction.objects.get().kind == ActionKind.BAN


def test_ban_admin_lifts_and_searches(admin_client, admin_user, reports, django_capture_on_commit_callbacks):
    target = reports["m-old"]
    with django_capture_on_commit_callbacks(execute=True):
        ban = services.ban_from_report(report_id=target.pk, moderator=admin_user, days=None)
    html = admin_client.get("/admin/moderation/ban/?q=boris").content.decode()
    assert f"/admin/moderation/ban/{ban.pk}/change/" in html
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/moderation/ban/", {"action": "lift", "_selected_action": [ban.pk]}, follow=True
        )
    ban.refresh_from_db()
    assert ban.lifted_at is not None and ban.lifted_by == admin_user
    assert state().zscore(keys.banned(), ban.identity_id) is None
    active = admin_client.get("/admin/moderation/ban/?state=active").content.decode()
    assert f"/admin/moderation/ban/{ban.pk}/change/" not in active


def test_ban_admin_add_form_goes_through_the_service(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    target = user_identity("target")
    bad = admin_client.post("/admin/moderation/ban/add/", {"identity_id": "u1:*", "reason": "x", "days": ""})
    assert bad.status_code == 200 and "An identity id looks like" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/moderation/ban/add/",
            {"identity_id": target.id, "reason": "spam", "ip_hash": "", "days": "7"},
        )
    assert response.status_code == 302
    ban = Ban.objects.get()
    assert ban.created_by == admin_user and ban.until > timezone.now() + dt.timedelta(days=6)
    assert selectors.is_banned(identity_id=target.id)
    assert ModerationAction.objects.get().ban == ban


def test_reports_and_audit_trail_cannot_be_deleted_or_edited(admin_client, reports):
    report = reports["m-old"]
    assert admin_client.get(f"/admin/moderation/report/{report.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/moderation/report/add/").status_code == 403
    assert admin_client.get("/admin/moderation/moderationaction/add/").status_code == 403


def test_non_staff_cannot_see_the_queue(client, reports):
    from moderation.tests.helpers import make_user

    client.force_login(make_user("nosy"))
    response = client.get("/admin/moderation/reportqueue/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_report_page_shows_the_persons_record(admin_client, reports):
    target = reports["m-minor"]
    html = admin_client.get(f"/admin/moderation/report/{target.pk}/change/").content.decode()
    assert f'?q={target.reported_identity}">1 report(s)</a> from 1 people' in html
    assert "0 ban(s)" in html
