"""Account forms and the moderators' report page in a real browser, on a phone and a laptop."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from moderation import services
from moderation.models import Report
from moderation.tests.helpers import user_identity
from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
PASSWORD = "correct-horse-battery-9"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_sign_up_errors_sit_under_their_field_and_take_the_focus(chat_server, people, viewport):
    tab = people(viewport=viewport)
    page = tab.page
    page.goto(f"{chat_server.url}/accounts/signup/")
    birth = page.locator("input[name=birth_date]")
    expect(birth).to_have_attribute("type", "date")
    help_text = page.locator("#id_birth_date_helptext")
    assert "YYYY" not in help_text.inner_text()  # the picker shows the browser's own date format
    page.locator("input[name=username]").fill("young")
    page.locator("input[name=email]").fill("young@example.com")
    birth.fill((dt.date.today() - dt.timedelta(days=17 * 365)).isoformat())
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("[data-testid=signup-submit]").click()

    error = page.locator("#id_birth_date_error")
    expect(error).to_contain_text("18 or older")
    # Under the date field (not under Email), described by it, and the cursor is there.
    birth = page.locator("input[name=birth_date]")
    assert birth.bounding_box()["y"] < error.bounding_box()["y"]
    email_box = page.locator("input[name=email]").bounding_box()
    assert error.bounding_box()["y"] > email_box["y"] + email_box["height"]
    expect(birth).to_have_attribute("aria-invalid", "true")
    assert "id_birth_date_error" in (birth.get_attribute("aria-describedby") or "")
    expect(birth).to_be_focused()
    expect(page.locator(".form-field:has(#id_email) .errorlist")).to_have_count(0)


@pytest.fixture
def moderator():
    return get_user_model().objects.create_superuser(
        username="mod", email="mod@example.com", password=PASSWORD
    )


@pytest.fixture
def open_report(django_capture_on_commit_callbacks) -> Report:
    reporter, reported = user_identity("rita"), user_identity("rex")
    with django_capture_on_commit_callbacks(execute=True):
        services.report(
            match_id="m-e2e", reporter=reporter, reported_id=reported.id, reason="harassment", note=""
        )
    report = Report.objects.get()
    report.evidence = {
        "transcript": [
            {"from": reporter.id, "name": "rita", "role": "reporter", "at": 1767323040.0, "text": "hi"},
            {
                "from": reported.id,
                "name": "rex",
                "role": "reported",
                "at": 1767323045.0,
                "text": "go away <loser>",
            },
        ],
        "match": {"common_interests": ["chess"], "duration_seconds": 42},
    }
    report.save(update_fields=["evidence"])
    return report


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_moderator_decides_on_the_report_page(chat_server, moderator, open_report, people, viewport):
    tab = people(viewport=viewport)
    page = tab.page
    page.goto(f"{chat_server.url}/admin/login/?next=/admin/")
    page.locator("input[name=username]").fill("mod")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[type=submit]").click()

    # The queue comes first on the admin index.
    queue = page.get_by_test_id("admin-queue")
    expect(queue).to_contain_text("1 open report")
    apps = page.locator("#content-main")
    assert queue.bounding_box()["y"] < apps.bounding_box()["y"]
    queue.get_by_role("link", name="Moderation queue").click()
    page.locator(f"a[href$='/reportqueue/{open_report.pk}/change/']").first.click()

    # The evidence reads as a conversation.
    transcript = page.locator(".evidence-transcript")
    expect(transcript.locator("tbody tr")).to_have_count(2)
    expect(transcript.locator("tr.reported")).to_contain_text("go away <loser>")
    expect(transcript.locator("tr.reported")).to_contain_text("03:04:05")
    expect(page.locator(".evidence-record")).to_contain_text("chess")

    page.get_by_test_id("decide-ban_7").click()
    expect(page.locator(".messagelist")).to_contain_text("Banned rex for 7 days")
    expect(page.locator(f"a[href$='/reportqueue/{open_report.pk}/change/']")).to_have_count(0)

    # The live page says when it was updated as a time of day.
    page.goto(f"{chat_server.url}/admin/live/")
    expect(page.locator("[data-live=updated]")).to_have_text(re.compile(r"^\d{1,2}:\d\d:\d\d"))
    assert not tab.errors, tab.errors
