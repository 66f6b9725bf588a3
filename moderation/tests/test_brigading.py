"""Automatic suspension against brigades (issue "Safety, second round", D2): reporters count by
network as well as identity, weighed by account age and karma, and a suspension is temporary
pending review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from moderation import services
from moderation.models import Ban
from moderation.tests.helpers import guest_identity, make_user, user_identity
from profiles.models import Profile
from seendr import networks
from seendr.identity import for_user

pytestmark = pytest.mark.django_db


def account(username: str, *, ip: str, age_days: int = 365, karma: float = 10.0):
    """An account that last came from ``ip`` (as a log-in records it), ``age_days`` old."""
    user = make_user(username)
    get_user_model().objects.filter(pk=user.pk).update(
        date_joined=timezone.now() - dt.timedelta(days=age_days)
    )
    Profile.objects.filter(user=user).update(karma=karma)
    identity = for_user(user)
    networks.record(identity_id=identity.id, ip_hash=networks.hash_ip(ip))
    return identity


def suspension_of(target) -> Ban | None:
    """The automatic suspension of ``target``: each report decides it on its own request path."""
    return Ban.objects.filter(identity_id=target.id, reason=services.AUTO_SUSPEND_REASON).first()


def report_all(reporters, target, capture) -> None:
    with capture(execute=True):
        for i, reporter in enumerate(reporters):
            services.report(
                match_id=f"m{i}", reporter=reporter, reported_id=target.id, reason="spam", note=""
            )


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_three_accounts_from_one_network_are_one_voice(django_capture_on_commit_callbacks):
    target = user_identity("target")
    sockpuppets = [account(f"s{i}", ip="203.0.113.50") for i in range(3)]
    report_all(sockpuppets, target, django_capture_on_commit_callbacks)
    assert services.check_auto_suspend(identity_id=target.id) is None
    assert not Ban.objects.exists()


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_new_accounts_weigh_less_than_established_ones(django_capture_on_commit_callbacks):
    target = user_identity("target")
    fresh = [account(f"f{i}", ip=f"203.0.113.{10 + i}", age_days=0) for i in range(3)]
    report_all(fresh, target, django_capture_on_commit_callbacks)
    assert services.check_auto_suspend(identity_id=target.id) is None
    # Three fresh accounts weigh 1.5; two established reporters bring it to 3.5.
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(2):
            services.report(
                match_id=f"e{i}",
                reporter=account(f"e{i}", ip=f"203.0.113.{20 + i}"),
                reported_id=target.id,
                reason="spam",
                note="",
            )
    assert suspension_of(target) is not None


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_reporters_with_negative_karma_weigh_nothing(django_capture_on_commit_callbacks):
    target = user_identity("target")
    trolls = [account(f"t{i}", ip=f"203.0.113.{30 + i}", karma=-25) for i in range(5)]
    report_all(trolls, target, django_capture_on_commit_callbacks)
    assert services.check_auto_suspend(identity_id=target.id) is None


@override_settings(AUTO_SUSPEND_REPORTERS=3, AUTO_SUSPEND_HOURS=24)
def test_an_auto_suspension_is_temporary_pending_review(django_capture_on_commit_callbacks):
    target = user_identity("target")
    reporters = [account(f"r{i}", ip=f"203.0.113.{40 + i}") for i in range(3)]
    report_all(reporters, target, django_capture_on_commit_callbacks)
    suspension = suspension_of(target)
    assert suspension is not None
    assert suspension.until is not None
    assert abs((suspension.until - timezone.now()) - dt.timedelta(hours=24)) < dt.timedelta(minutes=1)


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_guests_count_by_network_and_weigh_as_new_accounts(django_capture_on_commit_callbacks):
    target = user_identity("target")
    guests = [guest_identity(ip=f"192.0.2.{i}") for i in range(5)]
    report_all(guests, target, django_capture_on_commit_callbacks)
    assert services.check_auto_suspend(identity_id=target.id) is None  # 2.5
    with django_capture_on_commit_callbacks(execute=True):
        services.report(
            match_id="g6",
            reporter=guest_identity(ip="192.0.2.99"),
            reported_id=target.id,
            reason="spam",
            note="",
        )
    assert suspension_of(target) is not None  # 3.0
