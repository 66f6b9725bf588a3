import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from ops import services
from seendr import keys
from seendr.redis_state import state

pytestmark = pytest.mark.django_db


def test_moderation_summary_mail_counts_the_last_day(settings):
    from moderation.models import Report

    settings.OPS_SUMMARY_RECIPIENTS = []
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456789")
    get_user_model().objects.create_user("staffer", "staff@example.com", "pw-123456789", is_staff=True)
    now = timezone.now()
    for i, reason in enumerate(["spam", "spam", "harassment"]):
        Report.objects.create(
            match_id=f"m{i}",
            reporter_identity=f"ga{i}",
            reported_identity=f"gb{i}",
            reason=reason,
            created=now - dt.timedelta(hours=2),
        )
    Report.objects.create(
        match_id="old",
        reporter_identity="gx",
        reported_identity="gy",
        reason="spam",
        created=now - dt.timedelta(days=3),
        status="dismissed",
    )

    assert services.send_moderation_summary(now=now) == 1
    (message,) = mail.outbox
    assert message.to == ["boss@example.com"]
    assert "3 reports, 3 open" in message.subject
    assert "  spam: 2" in message.body and "  harassment: 1" in message.body


def test_no_mail_without_recipients(settings):
    settings.OPS_SUMMARY_RECIPIENTS = []
    assert services.send_moderation_summary() == 0
    assert mail.outbox == []


def test_prune_gives_a_ttl_to_limit_and_idempotency_keys_that_lack_one():
    client = state()
    client.set(keys.idempotency("like", "k1"), "x")  # no TTL: a bug elsewhere, or a crash
    client.set(keys.rate_limit("chat", "u1"), "1", ex=30)
    pipe = client.pipeline(transaction=False)
    for i in range(1200):  # more than one SCAN/pipeline batch
        pipe.set(keys.idempotency("report", f"k{i}"), "x")
    pipe.execute()
    summary = services.prune_expired()
    assert summary["ttl_fixed"] == 1201
    assert client.ttl(keys.idempotency("report", "k1199")) > 0
    assert 0 < client.ttl(keys.idempotency("like", "k1")) <= 24 * 3600
    assert client.ttl(keys.rate_limit("chat", "u1")) <= 30


def test_prune_drops_old_evidence_and_lapsed_bans_through_moderation():
    from moderation.models import Report

    long_ago = timezone.now() - dt.timedelta(days=400)
    old = Report.objects.create(
        match_id="old1",
        reporter_identity="ga",
        reported_identity="gb",
        reason="spam",
        status="dismissed",
        created=long_ago,
        resolved_at=long_ago,
        evidence={"transcript": [{"text": "hi"}]},
    )
    fresh = Report.objects.create(
        match_id="new1",
        reporter_identity="gc",
        reported_identity="gd",
        reason="spam",
        evidence={"transcript": [{"text": "hello"}]},
    )
    state().zadd(keys.banned(), {"gexpired": 1.0, "gactive": 4_000_000_000.0})
    summary = services.prune_expired()
    assert summary["evidence_pruned"] == 1 and summary["bans_pruned"] == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.evidence["transcript"] == [] and fresh.evidence["transcript"] == [{"text": "hello"}]
    assert state().zrange(keys.banned(), 0, -1) == ["gactive"]
