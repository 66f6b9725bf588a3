from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from accounts import services
from seendr import keys
from seendr.redis_state import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user(
        username="otto", email="otto@example.com", password="pw-123456789"
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_is_six_digits_stored_hashed_with_ttl_and_tries(user):
    code = services.issue_otp(user_id=user.pk)
    assert len(code) == 6 and code.isdigit()
    stored = state().hgetall(keys.otp(user.pk))
    assert stored["tries"] == "5"
    assert code not in stored["code"]
    assert 590 <= state().ttl(keys.otp(user.pk)) <= 600


def test_right_code_verifies_once(user):
    code = services.issue_otp(user_id=user.pk)
    assert services.verify_email(user_id=user.pk, code=code).ok
    user.profile.refresh_from_db()
    assert user.profile.email_verified
    assert services.check_otp(user_id=user.pk, code=code).status == "expired"  # spent


def test_five_tries_then_locked_even_for_the_right_code(user):
    code = services.issue_otp(user_id=user.pk)
    results = [services.check_otp(user_id=user.pk, code=wrong(code)) for _ in range(4)]
    assert [(r.status, r.tries_left) for r in results] == [
        ("wrong", 4),
        ("wrong", 3),
        ("wrong", 2),
        ("wrong", 1),
    ]
    assert services.check_otp(user_id=user.pk, code=wrong(code)).status == "locked"
    assert services.check_otp(user_id=user.pk, code=code).status == "expired"
    user.profile.refresh_from_db()
    assert not user.profile.email_verified


def test_malformed_codes_spend_tries_too(user):
    services.issue_otp(user_id=user.pk)
    assert services.check_otp(user_id=user.pk, code="abc").tries_left == 4
    full_width_digits = "\uff11\uff12\uff13\uff14\uff15\uff16"
    assert services.check_otp(user_id=user.pk, code=full_width_digits).tries_left == 3


def test_expired_code_is_refused(user):
    code = services.issue_otp(user_id=user.pk, ttl=1)
    state().pexpire(keys.otp(user.pk), 1)  # expire now instead of waiting ten minutes
    time.sleep(0.05)
    assert services.verify_email(user_id=user.pk, code=code).status == "expired"


def test_new_code_replaces_the_old_one(user):
    first = services.issue_otp(user_id=user.pk)
    second = services.issue_otp(user_id=user.pk)
    if first != second:
        assert services.check_otp(user_id=user.pk, code=first).status == "wrong"
    assert services.check_otp(user_id=user.pk, code=second).ok


def test_concurrent_guesses_share_the_five_tries(user):
    """50 threads guess at once: Redis evaluates exactly five guesses, never more."""
    code = services.issue_otp(user_id=user.pk)
    guesses = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 50)] + [code]
    barrier = threading.Barrier(len(guesses))

    def guess(g: str):
        barrier.wait(timeout=10)
        return services.check_otp(user_id=user.pk, code=g)

    with ThreadPoolExecutor(max_workers=len(guesses)) as pool:
        results = list(pool.map(guess, guesses))
    counts = {s: [r.status for r in results].count(s) for s in ("ok", "wrong", "locked", "expired")}
    # Either the right code came within the first five evaluated guesses, or four wrong
    # guesses were followed by a fifth that locked the code; everyone else found no code.
    assert (counts["ok"] == 1 and counts["wrong"] <= 4 and counts["locked"] == 0) or (
        counts["ok"] == 0 and counts["wrong"] == 4 and counts["locked"] == 1
    ), counts
    assert counts["expired"] == len(guesses) - counts["ok"] - counts["wrong"] - counts["locked"]
    assert not state().exists(keys.otp(user.pk))


def test_send_verification_code_mails_the_live_code(user):
    assert services.send_verification_code(user_id=user.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["otto@example.com"]
    code = message.subject.rsplit(" ", 1)[-1]
    assert code in message.body
    assert services.check_otp(user_id=user.pk, code=code).ok


def test_no_code_for_verified_or_inactive_users(user):
    user.profile.email_verified = True
    user.profile.save()
    assert not services.send_verification_code(user_id=user.pk)
    assert not state().exists(keys.otp(user.pk))


def test_sign_up_refuses_minors_even_without_the_form():
    today = dt.date.today()
    with pytest.raises(ValueError):
        services.sign_up(
            username="kid",
            email="kid@example.com",
            birth_date=today.replace(year=today.year - 10),
            password="x",
        )
    assert not get_user_model().objects.filter(username="kid").exists()


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [("2000-02-29", "2018-02-28", 17), ("2000-02-29", "2018-03-01", 18), ("2008-11-26", "2026-11-26", 18)],
)
def test_age_on_birthdays(birth, today, age):
    assert services.age_on(dt.date.fromisoformat(birth), dt.date.fromisoformat(today)) == age
