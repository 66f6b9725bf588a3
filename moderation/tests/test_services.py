"""Reports, bans and auto-suspension against real Postgres, Redis and the Channels layer."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from leaderboard import boards
from leaderboard.selectors import board_key
from matching import actions
from matching.types import Banned, Preferences
from moderation import selectors, services
from moderation.models import ActionKind, Ban, ModerationAction, Priority, Report, ReportStatus
from moderation.tests.helpers import (
    GroupListener,
    established_identity,
    guest_identity,
    live_match,
    say,
    user_identity,
)
from seendr import keys
from seendr.errors import ServiceError
from seendr.redis_state import state
from seendr.testing import poolsync

pytestmark = pytest.mark.django_db


# --- Reports ------------------------------------------------------------------------------


def test_report_captures_the_transcript_and_match_and_blocks(django_capture_on_commit_callbacks):
    alice, bob = user_identity("alice"), user_identity("bob")
    match_id = live_match(alice, bob)
    say(match_id, bob, "hi")
    say(match_id, alice, "hello")
    say(match_id, bob, "<script>alert(1)</script> send me pics")

    # Matching hands moderation the evidence it holds (transcript, live and stored records).
    with django_capture_on_commit_callbacks(execute=True):
        created = actions.report_partner(
            match_id=match_id, reporter=alice, partner_id=bob.id, reason="harassment", note="rude"
        )

    assert created is True
    row = Report.objects.get()
    assert (row.reporter_identity, row.reported_identity) == (alice.id, bob.id)
    assert row.reported_user_id == bob.user_id and row.reporter_user_id == alice.user_id
    assert [line["text"] for line in row.evidence["transcript"]] == [
        "hi",
        "hello",
        "<script>alert(1)</script> send me pics",
    ]
    assert {row.evidence["live_match"]["a"], row.evidence["live_match"]["b"]} == {alice.id, bob.id}
    assert row.evidence["reported_account"]["username"] == "bob"
    assert row.priority == Priority.NORMAL and row.status == ReportStatus.OPEN
    # Reporting blocks: the matcher's set and the durable row.
    assert state().sismember(keys.blocks(alice.id), bob.id)


def test_second_report_of_the_same_match_is_a_no_op(django_capture_on_commit_callbacks):
    alice, bob = user_identity("alice"), user_identity("bob")
    match_id = live_match(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.report(match_id=match_id, reporter=alice, reported_id=bob.id, reason="spam", note="")
        assert not services.report(
            match_id=match_id, reporter=alice, reported_id=bob.id, reason="nudity", note=""
        )
    assert Report.objects.get().reason == "spam"


def test_underage_reports_head_the_queue(django_capture_on_commit_callbacks):
    people = [user_identity(f"p{i}") for i in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        services.report(match_id="m1", reporter=people[0], reported_id=people[1].id, reason="spam", note="")
        services.report(
            match_id="m2", reporter=people[2], reported_id=people[3].id, reason="underage", note=""
        )
        services.report(match_id="m3", reporter=people[1], reported_id=people[2].id, reason="other", note="")
    queue = list(selectors.open_reports().values_list("match_id", "priority"))
    assert queue == [("m2", Priority.URGENT), ("m3", 0), ("m1", 0)]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"reason": "rude"}, "bad_reason"),
        ({"match_id": "../../etc"}, "bad_match"),
        ({"reported_id": "u1:*"}, "bad_identity"),
        ({"reported_id": "SELF"}, "self_report"),
    ],
)
def test_malformed_reports_are_refused(kwargs, code):
    alice = user_identity("alice")
    args = {"match_id": "m1", "reporter": alice, "reported_id": "g0123456789ab", "reason": "spam", "note": ""}
    args.update(kwargs)
    if args["reported_id"] == "SELF":
        args["reported_id"] = alice.id
    with pytest.raises(ServiceError) as err:
        services.report(**args)
    assert err.value.code == code
    assert not Report.objects.exists()


def test_a_guest_report_keeps_the_ip_hash_for_bans(django_capture_on_commit_callbacks):
    alice, troll = user_identity("alice"), guest_identity(ip="198.51.100.9")
    match_id = live_match(alice, troll)
    with django_capture_on_commit_callbacks(execute=True):
        services.report(
            match_id=match_id, reporter=alice, reported_id=troll.id, reason="spam", note="x" * 5000
        )
    row = Report.objects.get()
    assert row.reported_ip_hash and len(row.note) == 1000
    assert row.reported_name == troll.name


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_reports_count_once():
    alice, bob = user_identity("alice"), user_identity("bob")
    match_id = live_match(alice, bob)
    barrier = threading.Barrier(8)

    def go(_):
        barrier.wait()
        try:
            return services.report(
                match_id=match_id, reporter=alice, reported_id=bob.id, reason="spam", note=""
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(go, range(8)))
    assert results.count(True) == 1 and results.count(False) == 7
    assert Report.objects.count() == 1


def test_after_a_report_the_two_are_never_matched_again(django_capture_on_commit_callbacks):
    alice, bob = user_identity("alice"), user_identity("bob")
    match_id = live_match(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.report(match_id=match_id, reporter=bob, reported_id=alice.id, reason="spam", note="")
    now = time.time()
    poolsync.end_match(identity_id=alice.id, now=now, reason="report")
    state().delete(keys.recent_partners(alice.id), keys.recent_partners(bob.id))  # no cooldown excuse
    prefs = Preferences.from_client(interests=["chess"])
    far_later = now + 3600  # every widening stage open
    assert poolsync.join(identity_id=alice.id, prefs=prefs, channel_name="c.a", now=far_later) is None
    assert poolsync.join(identity_id=bob.id, prefs=prefs, channel_name="c.b", now=far_later) is None
    carol = user_identity("carol")
    # Bob is still matchable with someone else: the block is specific.
    pairing = poolsync.join(identity_id=carol.id, prefs=prefs, channel_name="c.c", now=far_later)
    assert pairing is not None and pairing.partner_id in {alice.id, bob.id}


# --- Bans ---------------------------------------------------------------------------------


def test_ban_acts_live_after_commit(django_capture_on_commit_callbacks, admin_user):
    bob = user_identity("bob")
    prefs = Preferences.from_client(interests=["chess"])
    poolsync.join(identity_id=bob.id, prefs=prefs, channel_name="c.b", now=time.time())
    board = board_key(board="likes", period="all", now=timezone.now())
    state().zadd(board, {boards.member(bob.user_id): 5})
    listener = GroupListener(keys.identity_group(bob.id))
    until = timezone.now() + dt.timedelta(days=7)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = services.ban(identity_id=bob.id, until=until, reason="harassment", moderator=admin_user)
        # Nothing live happens before the commit.
        assert state().zscore(keys.banned(), bob.id) is None
    for callback in callbacks:
        callback()

    assert state().zscore(keys.banned(), bob.id) == pytest.approx(until.timestamp())
    assert not state().exists(keys.ticket(bob.id))
    assert not state().sismember(keys.pool_waiting(), bob.id)
    assert state().zscore(board, boards.member(bob.user_id)) is None
    message = listener.get()
    assert message == {"type": "identity.banned", "until": until.isoformat(), "reason": "harassment"}
    assert row.user_id == bob.user_id
    action = ModerationAction.objects.get()
    assert (action.kind, action.moderator, action.ban) == (ActionKind.BAN, admin_user, row)
    assert selectors.is_banned(identity_id=bob.id)
    assert not selectors.is_banned(identity_id=bob.id, now=until.timestamp() + 1)  # expires by itself
    assert isinstance(
        poolsync.join(identity_id=bob.id, prefs=prefs, channel_name="c.b", now=time.time()), Banned
    )


def test_forever_ban_and_lift(django_capture_on_commit_callbacks, admin_user):
    bob = user_identity("bob")
    with django_capture_on_commit_callbacks(execute=True):
        row = services.ban(identity_id=bob.id, until=None, reason="spam", moderator=admin_user)
    assert state().zscore(keys.banned(), bob.id) == selectors.FOREVER_SCORE
    assert selectors.active_ban_for_user(user_id=bob.user_id) == row
    with django_capture_on_commit_callbacks(execute=True):
        services.lift_ban(ban_id=row.pk, moderator=admin_user)
    assert state().zscore(keys.banned(), bob.id) is None
    assert not selectors.is_banned(identity_id=bob.id)
    assert list(ModerationAction.objects.order_by("created").values_list("kind", flat=True)) == [
        "ban",
        "lift",
    ]


def test_lifting_one_of_two_bans_keeps_the_other(django_capture_on_commit_callbacks, admin_user):
    bob = user_identity("bob")
    week = timezone.now() + dt.timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        long = services.ban(identity_id=bob.id, until=week, reason="a", moderator=admin_user)
        short = services.ban(identity_id=bob.id, until=timezone.now() + dt.timedelta(days=1), reason="b")
    assert state().zscore(keys.banned(), bob.id) == pytest.approx(week.timestamp())
    with django_capture_on_commit_callbacks(execute=True):
        services.lift_ban(ban_id=long.pk, moderator=admin_user)
    assert state().zscore(keys.banned(), bob.id) == pytest.approx(short.until.timestamp())


def test_a_guest_ban_reaches_its_ip_hash(django_capture_on_commit_callbacks):
    from seendr.networks import hash_ip

    troll = guest_identity(ip="198.51.100.23")
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=troll.id, until=None, reason="spam")
    assert selectors.is_ip_banned(hash_ip("198.51.100.23"))
    assert not selectors.is_ip_banned(hash_ip("198.51.100.24"))
    assert not selectors.is_ip_banned("")


def test_bans_must_end_in_the_future_and_name_an_identity():
    with pytest.raises(ValueError):
        services.ban(identity_id="u1", until=timezone.now() - dt.timedelta(seconds=1), reason="x")
    with pytest.raises(ValueError):
        services.ban(identity_id="u1:*", until=None, reason="x")


def test_rebuild_restores_the_banned_set_after_a_flush(django_capture_on_commit_callbacks):
    people = [user_identity(f"p{i}") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        services.ban(identity_id=people[0].id, until=None, reason="x")
        services.ban(identity_id=people[1].id, until=timezone.now() + dt.timedelta(days=1), reason="x")
        lifted = services.ban(identity_id=people[2].id, until=None, reason="x")
        services.lift_ban(ban_id=lifted.pk, moderator=None)
    # A past ban (as if it expired long ago), and a stale member Postgres does not back.
    Ban.objects.create(
        identity_id="u999999",
        reason="old",
        created=timezone.now() - dt.timedelta(days=9),
        until=timezone.now() - dt.timedelta(days=2),
    )
    state().delete(keys.banned())
    state().zadd(keys.banned(), {"gdeadbeefdeadbeef": selectors.FOREVER_SCORE})

    assert services.rebuild_ban_set() == 2
    assert set(state().zrange(keys.banned(), 0, -1)) == {people[0].id, people[1].id}


def test_prune_drops_only_expired_entries():
    state().zadd(keys.banned(), {"u1": 100.0, "u2": time.time() + 100})
    assert services.prune_expired_bans() == 1
    assert state().zrange(keys.banned(), 0, -1) == ["u2"]


def test_moderator_decisions_are_recorded(django_capture_on_commit_callbacks, admin_user):
    a, b, c = user_identity("a"), user_identity("b"), user_identity("c")
    with django_capture_on_commit_callbacks(execute=True):
        services.report(match_id="m1", reporter=a, reported_id=b.id, reason="spam", note="")
        services.report(match_id="m2", reporter=c, reported_id=b.id, reason="nudity", note="")
        services.report(match_id="m3", reporter=b, reported_id=c.id, reason="other", note="")
        services.report(match_id="m4", reporter=b, reported_id=a.id, reason="other", note="")
    r1, _r2, r3, r4 = Report.objects.order_by("match_id")
    services.dismiss_report(report_id=r3.pk, moderator=admin_user)
    services.warn_from_report(report_id=r4.pk, moderator=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        banned = services.ban_from_report(report_id=r1.pk, moderator=admin_user, days=7)
    statuses = dict(Report.objects.values_list("match_id", "status"))
    assert statuses == {"m1": "banned", "m2": "banned", "m3": "dismissed", "m4": "warned"}
    assert banned.report == r1 and banned.until > timezone.now() + dt.timedelta(days=6, hours=23)
    kinds = sorted(ModerationAction.objects.values_list("kind", "moderator__username"))
    assert kinds == [("ban", "admin"), ("dismiss", "admin"), ("warn", "admin")]
    assert selectors.upheld_report_counts(user_ids=[a.user_id, b.user_id, c.user_id]) == {
        a.user_id: 1,
        b.user_id: 2,
    }
    assert not selectors.open_reports().exists()


# --- Automatic suspension -----------------------------------------------------------------


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_the_third_distinct_report_suspends_before_it_returns_with_no_worker(
    django_capture_on_commit_callbacks,
):
    """Decided on the request path: no Celery worker runs here, and none is needed."""
    target = user_identity("target")
    for i in range(2):
        assert services.report(
            match_id=f"m{i}",
            reporter=established_identity(f"r{i}"),
            reported_id=target.id,
            reason="spam",
            note="",
        )
    assert not Ban.objects.exists()
    # The ban's live side (banned set, kick) runs after commit, as in a request.
    with django_capture_on_commit_callbacks(execute=True):
        reported_at = timezone.now()
        assert services.report(
            match_id="m2", reporter=established_identity("r2"), reported_id=target.id, reason="spam", note=""
        )
    ban = Ban.objects.get()
    assert (ban.identity_id, ban.reason, ban.created_by) == (target.id, services.AUTO_SUSPEND_REASON, None)
    # Pending review: it lasts AUTO_SUSPEND_HOURS from the report that crossed the threshold.
    suspended_for = ban.until - reported_at
    assert dt.timedelta(hours=settings.AUTO_SUSPEND_HOURS) <= suspended_for
    assert suspended_for < dt.timedelta(hours=settings.AUTO_SUSPEND_HOURS, minutes=5)
    assert selectors.is_banned(identity_id=target.id)


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_auto_suspension_needs_three_distinct_reporters_within_a_day(django_capture_on_commit_callbacks):
    target = user_identity("target")
    reporters = [established_identity(f"r{i}") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        services.report(match_id="m0", reporter=reporters[0], reported_id=target.id, reason="spam", note="")
        services.report(match_id="m1", reporter=reporters[0], reported_id=target.id, reason="spam", note="")
        services.report(match_id="m2", reporter=reporters[1], reported_id=target.id, reason="spam", note="")
    # Two distinct people (one of them twice) are not enough.
    assert services.check_auto_suspend(identity_id=target.id) is None
    # A third, but only counted if within 24 hours.
    old = Report.objects.get(match_id="m2")
    Report.objects.filter(pk=old.pk).update(created=timezone.now() - dt.timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        services.report(match_id="m3", reporter=reporters[2], reported_id=target.id, reason="spam", note="")
    assert services.check_auto_suspend(identity_id=target.id) is None
    Report.objects.filter(pk=old.pk).update(created=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        suspension = services.check_auto_suspend(identity_id=target.id)
    assert suspension is not None
    assert (suspension.reason, suspension.created_by) == (services.AUTO_SUSPEND_REASON, None)
    assert suspension.until is not None  # temporary, pending review
    assert ModerationAction.objects.get(ban=suspension).kind == ActionKind.AUTO_SUSPEND
    assert selectors.is_banned(identity_id=target.id)
    # Idempotent: a further check adds nothing; the reports stay open for review.
    assert services.check_auto_suspend(identity_id=target.id) is None
    assert Ban.objects.count() == 1
    assert selectors.open_reports().count() == 4


@pytest.mark.django_db(transaction=True)
@override_settings(AUTO_SUSPEND_REPORTERS=2)
def test_concurrent_reports_past_the_threshold_suspend_once():
    target = user_identity("target")
    services.report(
        match_id="m0", reporter=established_identity("r0"), reported_id=target.id, reason="spam", note=""
    )
    assert not Ban.objects.exists()
    # Six more people report at the same moment: each report checks the threshold on its own
    # request path, and the advisory lock lets exactly one of them suspend.
    reporters = [established_identity(f"r{i}") for i in range(1, 7)]
    barrier = threading.Barrier(len(reporters))

    def go(reporter):
        barrier.wait()
        try:
            return services.report(
                match_id=f"m-{reporter.id}", reporter=reporter, reported_id=target.id, reason="spam", note=""
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(reporters)) as executor:
        results = list(executor.map(go, reporters))
    assert all(results)
    assert Ban.objects.filter(identity_id=target.id).count() == 1
    assert ModerationAction.objects.filter(kind=ActionKind.AUTO_SUSPEND).count() == 1


def test_old_decided_evidence_is_pruned(django_capture_on_commit_callbacks, admin_user):
    a, b = user_identity("a"), user_identity("b")
    match_id = live_match(a, b)
    say(match_id, b, "something personal")
    say("m-open", a, "also personal")
    with django_capture_on_commit_callbacks(execute=True):
        actions.report_partner(match_id=match_id, reporter=a, partner_id=b.id, reason="spam", note="")
        actions.report_partner(match_id="m-open", reporter=b, partner_id=a.id, reason="spam", note="")
    decided = Report.objects.get(match_id=match_id)
    services.dismiss_report(report_id=decided.pk, moderator=admin_user)
    old = timezone.now() - dt.timedelta(days=services.EVIDENCE_RETENTION_DAYS + 1)
    Report.objects.update(created=old)
    assert services.prune_evidence() == 1  # the open one is still under review: kept
    decided.refresh_from_db()
    assert decided.evidence["transcript"] == [] and "transcript_pruned_at" in decided.evidence
    assert decided.evidence["live_match"] is not None
    assert services.prune_evidence() == 0
    assert Report.objects.get(match_id="m-open").evidence["transcript"][0]["text"] == "also personal"


@override_settings(AUTO_SUSPEND_REPORTERS=3)
def test_a_brigade_of_guests_from_one_address_counts_once(django_capture_on_commit_callbacks):
    target = user_identity("target")
    brigade = [guest_identity(ip="192.0.2.66") for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        for i, guest in enumerate(brigade):
            services.report(match_id=f"b{i}", reporter=guest, reported_id=target.id, reason="spam", note="")
    now = timezone.now()
    weight = selectors.reporter_weight_since(
        identity_id=target.id,
        since=now - dt.timedelta(hours=1),
        established_before=now - dt.timedelta(days=7),
    )
    assert weight == selectors.NEW_REPORTER_WEIGHT  # one voice
    assert services.check_auto_suspend(identity_id=target.id) is None
    # Two established accounts and one more guest network make 3.
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("r1", "r2"):
            services.report(
                match_id=name,
                reporter=established_identity(name),
                reported_id=target.id,
                reason="spam",
                note="",
            )
        services.report(
            match_id="r3",
            reporter=guest_identity(ip="192.0.2.67"),
            reported_id=target.id,
            reason="spam",
            note="",
        )
    # The third real voice suspended on its own request path.
    assert Ban.objects.filter(identity_id=target.id, reason=services.AUTO_SUSPEND_REASON).exists()
