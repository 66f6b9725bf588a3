"""The log-in form that refuses banned accounts and says why and until when."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from moderation import selectors


def refusal_message(ban) -> str:
    when = "permanently" if ban.until is None else f"until {ban.until:%Y-%m-%d %H:%M} UTC"
    return f"This account is suspended {when}. Reason: {ban.reason}."


class BanAwareAuthenticationForm(AuthenticationForm):
    """Django's log-in form plus one check, made only after the password was right (so it tells
    nothing about accounts to someone who does not hold the password)."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        ban = selectors.active_ban_for_user(user_id=user.pk)
        if ban is not None:
            raise forms.ValidationError(refusal_message(ban), code="banned")
