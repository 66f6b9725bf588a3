"""Leases of a Redis rate limit (``seendr.ratelimit_lease``) against the real Redis: the Redis
limit still bounds the subject across leases, near the limit the answer is the per-action one,
and a lease lapses after one period."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from seendr import keys, ratelimit
from seendr.metrics import RATE_LIMITED
from seendr.ratelimit_lease import LeasedLimit
from seendr.redis_state import state

NOW = 1_800_000_000.0


def limits(**extra: str | None) -> dict:
    return {**django_settings.RATE_LIMITS, **extra}


def paid_ms(scope: str, subject: str) -> float:
    """How far the subject's theoretical arrival time runs ahead of NOW: what Redis has charged."""
    return float(state().get(keys.rate_limit(scope, subject))) - NOW * 1000


@override_settings(RATE_LIMITS=limits(t="50/1s"))
async def test_a_lease_is_paid_in_redis_once_and_spent_locally():
    lease = LeasedLimit(scope="t", subject="a")
    assert (await lease.acheck(now=NOW)).allowed
    assert paid_ms("t", "a") == pytest.approx(200.0)  # a fifth of 50, at 20 ms each
    for _ in range(9):
        assert (await lease.acheck(now=NOW)).allowed
    assert paid_ms("t", "a") == pytest.approx(200.0)  # the nine cost Redis nothing
    assert (await lease.acheck(now=NOW)).allowed
    assert paid_ms("t", "a") == pytest.approx(400.0)  # the eleventh paid for the next lease


@override_settings(RATE_LIMITS=limits(t="20/1h"))
async def test_sockets_of_one_subject_never_get_more_than_the_redis_limit_together():
    sockets = [LeasedLimit(scope="t", subject="same") for _ in range(3)]
    allowed = 0
    for _ in range(20):
        for lease in sockets:
            allowed += (await lease.acheck(now=NOW)).allowed
    assert allowed == 20
    assert not (await ratelimit.acheck(scope="t", subject="same", now=NOW)).allowed


@override_settings(RATE_LIMITS=limits(t="10/1h"))
async def test_near_the_limit_the_answer_is_the_per_action_one():
    lease = LeasedLimit(scope="t", subject="a")
    answers = [await lease.acheck(now=NOW) for _ in range(11)]
    assert [a.allowed for a in answers] == [True] * 10 + [False]
    # The refusal is the one a check per action gives: one interval (360 s) to wait.
    assert answers[-1].retry_after == 360
    per_action = [await ratelimit.acheck(scope="t", subject="b", now=NOW) for _ in range(11)]
    assert per_action[-1] == answers[-1]


@override_settings(RATE_LIMITS=limits(t="3/1h"))
async def test_a_limit_too_small_for_a_lease_is_checked_per_action():
    lease = LeasedLimit(scope="t", subject="a")
    assert [(await lease.acheck(now=NOW)).allowed for _ in range(4)] == [True, True, True, False]
    assert paid_ms("t", "a") == pytest.approx(3_600_000.0)


@override_settings(RATE_LIMITS=limits(t="200000/1s"))
async def test_an_action_larger_than_a_lease_pays_its_own_size():
    lease = LeasedLimit(scope="t", subject="a")
    for _ in range(3):
        assert (await lease.acheck(cost=63_000, now=NOW)).allowed
    refused = await lease.acheck(cost=63_000, now=NOW)
    assert not refused.allowed and refused.retry_after == 1
    # Small ones pass again once the budget refills.
    assert (await lease.acheck(cost=100, now=NOW + 1.0)).allowed


@override_settings(RATE_LIMITS=limits(t="50/1s"))
async def test_a_lease_lapses_after_one_period_and_its_rest_is_lost():
    lease = LeasedLimit(scope="t", subject="a")
    assert (await lease.acheck(now=NOW)).allowed  # paid 10, spent 1
    assert (await lease.acheck(now=NOW + 0.5)).allowed  # spent from the lease
    assert paid_ms("t", "a") == pytest.approx(200.0)
    assert (await lease.acheck(now=NOW + 1.0)).allowed  # lapsed: a new lease is paid
    assert paid_ms("t", "a") == pytest.approx(1000.0 + 200.0)


@override_settings(RATE_LIMITS=limits(t="10/1h"))
async def test_a_refused_lease_is_not_a_refusal_in_metrics():
    lease = LeasedLimit(scope="t", subject="metrics")
    counted = RATE_LIMITED.labels(scope="t")
    before = counted._value.get()
    for _ in range(10):
        assert (await lease.acheck(now=NOW)).allowed  # five leases of two
    # The eleventh: the lease of two is refused (not counted), then the action alone (counted).
    assert not (await lease.acheck(now=NOW)).allowed
    assert counted._value.get() == before + 1


@override_settings(RATE_LIMITS=limits(t=None))
async def test_a_limit_set_to_none_is_off():
    lease = LeasedLimit(scope="t", subject="a")
    assert all([(await lease.acheck(now=NOW)).allowed for _ in range(50)])
