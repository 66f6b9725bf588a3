"""The log-in form that refuses banned accounts and says why and until when."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _

from moderation import selectors


def refusal_message(ban) -> str:
    if ban.until is None:
        return _("This account is suspended permanently. Reason: %(reason)s.") % {"reason": ban.reason}
    return _("This account is suspended until %(until)s UTC. Reason: %(reason)s.") % {
        "until": f"{ban.until:%Y-%m-%d %H:%M}",
        "reason": ban.reason,
    }


class BanAwareAuthenticationForm(AuthenticationForm):
    """Django's log-in form plus one check, made only after the password was right (so it tells
    nothing about accounts to someone who does not hold the password)."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        ban = selectors.active_ban_for_user(user_id=user.pk)
        if ban is not None:
            raise forms.ValidationError(refusal_message(ban), code="banned")
