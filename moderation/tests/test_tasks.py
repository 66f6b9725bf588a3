"""Auto-suspension run by a real Celery worker, enqueued by real reports after commit."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from moderation import selectors, services
from moderation.models import Ban
from moderation.tests.helpers import established_identity, user_identity

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_a_worker_suspends_after_the_third_distinct_reporter(celery_worker_process):
    worker = celery_worker_process(AUTO_SUSPEND_REPORTERS="3")
    target = user_identity("target")
    reporters = [established_identity(f"r{i}") for i in range(3)]

    for i, reporter in enumerate(reporters[:2]):
        assert services.report(
            match_id=f"m{i}", reporter=reporter, reported_id=target.id, reason="spam", note=""
        )
    # Two tasks ran (they are cheap); neither suspended.
    assert wait_for(lambda: worker.output().count("succeeded") >= 2), worker.output()
    assert not Ban.objects.exists()

    started = time.monotonic()
    services.report(match_id="m2", reporter=reporters[2], reported_id=target.id, reason="spam", note="")
    assert wait_for(lambda: Ban.objects.filter(identity_id=target.id).exists()), worker.output()
    elapsed = time.monotonic() - started
    ban = Ban.objects.get()
    assert ban.reason == services.AUTO_SUSPEND_REASON and ban.until is not None and ban.created_by is None
    assert selectors.is_banned(identity_id=target.id)
    assert elapsed < 10, elapsed
