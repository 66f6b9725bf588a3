"""Sign-up, guests, email verification codes and outgoing account mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import guests, tasks
from profiles import friend_requests
from profiles import services as profile_services
from profiles.models import Profile
from seendr import keys
from seendr.identity import Identity
from seendr.redis_state import lua, state

logger = logging.getLogger(__name__)

ADULT_AGE = 18
OTP_TTL_SECONDS = 10 * 60
OTP_TRIES = 5
OTP_DIGITS = 6


def age_on(birth_date: dt.date, today: dt.date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def is_adult(birth_date: dt.date, today: dt.date | None = None) -> bool:
    return age_on(birth_date, today or dt.date.today()) >= ADULT_AGE


# --- Accounts and guests -------------------------------------------------------------------


class SignUpRefused(Exception):
    """A concurrent sign-up took the username or the email first (``field`` says which)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _lock(name: str) -> None:
    """A transaction-scoped Postgres advisory lock on a name."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


@transaction.atomic
def sign_up(
    *,
    username: str,
    email: str,
    birth_date: dt.date,
    password: str,
    guest_id: str | None = None,
    language: str = "",
) -> AbstractBaseUser:
    """Create an adult account and its profile; the verification code is mailed after commit.

    ``guest_id``: the guest this person was until now. Their open "add friend" requests (made
    within a match's request window) carry over to the new account after commit.

    The form checked that username and email are free (case-insensitively), but two sign-ups
    can pass that check at once: advisory locks on both names (always username first, so two
    sign-ups cannot deadlock) make the check and the insert one step.
    """
    if not is_adult(birth_date):
        raise ValueError("Seendr is for adults only")
    User = get_user_model()
    _lock(f"signup.username.{username.lower()}")
    _lock(f"signup.email.{email.lower()}")
    if User.objects.filter(username__iexact=username).exists():
        raise SignUpRefused("username")
    if User.objects.filter(email__iexact=email).exists():
        raise SignUpRefused("email")
    user = User.objects.create_user(username=username, email=email, password=password)
    # The language the person signed up in is the language of their mail until they choose one.
    Profile.objects.filter(user=user).update(birth_date=birth_date, ui_language=language)
    tasks.send_verification_code_task.delay_on_commit(user.pk)
    if guest_id:
        transaction.on_commit(lambda: friend_requests.carry_over(guest_id=guest_id, user_id=user.pk))
    return user


def start_guest(*, ip: str) -> Identity:
    return guests.create_guest(ip=ip)


# --- Email verification --------------------------------------------------------------------


def _code_hash(user_id: int, code: str) -> str:
    """Keyed hash: a Redis dump does not reveal live codes."""
    message = f"otp:{user_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def issue_otp(*, user_id: int, ttl: int = OTP_TTL_SECONDS) -> str:
    """A fresh 6-digit code replacing any earlier one, with ``OTP_TRIES`` tries and a TTL."""
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    key = keys.otp(user_id)
    pipe = state().pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"code": _code_hash(user_id, code), "tries": OTP_TRIES})
    pipe.expire(key, ttl)
    pipe.execute()
    return code


@dataclass(frozen=True)
class OtpResult:
    status: str  # "ok", "wrong", "locked" or "expired"
    tries_left: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_otp(*, user_id: int, code: str) -> OtpResult:
    """Spend one try on ``code`` (atomic in Redis, so concurrent guesses share the 5 tries)."""
    code = code.strip()
    if not (len(code) == OTP_DIGITS and code.isascii() and code.isdigit()):
        # Malformed input still spends a try: otherwise it is a free probe of the key's state.
        code = "x"
    status, tries = lua("accounts", "otp_verify").run(
        state(), [keys.otp(user_id)], [_code_hash(user_id, code)]
    )
    return OtpResult(status=status, tries_left=int(tries))


def verify_email(*, user_id: int, code: str) -> OtpResult:
    result = check_otp(user_id=user_id, code=code)
    if result.ok:
        profile_services.set_email_verified(user_id=user_id)
    return result


def send_verification_code(*, user_id: int) -> bool:
    """Issue a code and mail it. A retried send issues a new code (the old mail never left)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).select_related("profile").first()
    if user is None or not user.email or user.profile.email_verified:
        return False
    code = issue_otp(user_id=user_id)
    context = {"username": user.get_username(), "code": code, "minutes": OTP_TTL_SECONDS // 60}
    with translation.override(user.profile.ui_language or settings.LANGUAGE_CODE):
        subject = render_to_string("accounts/email/verify_subject.txt", context).strip()
        body = render_to_string("accounts/email/verify_body.txt", context)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[user.email])
    return True


def send_password_reset(
    *,
    email: str,
    domain: str,
    site_name: str,
    protocol: str,
    subject_template_name: str,
    email_template_name: str,
    from_email: str | None = None,
    html_email_template_name: str | None = None,
    language: str = "",
) -> int:
    """What Django's PasswordResetForm.save does, in a worker: a reset link to every active
    account with a usable password at ``email``; nothing for an unknown address. Returns mails sent.
    The request only queued this, whatever the address, so its timing tells nobody anything.
    ``language`` is the language of the page the reset was asked from."""
    sent = 0
    for user in PasswordResetForm().get_users(email):
        context = {
            "email": email,
            "domain": domain,
            "site_name": site_name,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "user": user,
            "token": default_token_generator.make_token(user),
            "protocol": protocol,
            "username": user.get_username(),
        }
        with translation.override(language or settings.LANGUAGE_CODE):
            subject = "".join(render_to_string(subject_template_name, context).splitlines())
            body = render_to_string(email_template_name, context)
            html = render_to_string(html_email_template_name, context) if html_email_template_name else None
        message = EmailMultiAlternatives(
            subject, body, from_email, [getattr(user, user.get_email_field_name())]
        )
        if html is not None:
            message.attach_alternative(html, "text/html")
        message.send()
        sent += 1
    return sent
