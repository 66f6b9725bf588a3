"""Forms of the account pages. Messages avoid confirming which emails have accounts."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.contrib.sites.shortcuts import get_current_site
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts import services, tasks

EMAIL_UNUSABLE = _(
    "This email address cannot be used for a new account. If you already have an account, "
    "log in or reset your password."
)


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), max_length=254)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Seendr is for adults (18+) only. Never shown to anyone."),
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email", "birth_date")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(EMAIL_UNUSABLE, code="email_unusable")
        return email

    def clean_birth_date(self) -> dt.date:
        birth_date = self.cleaned_data["birth_date"]
        today = dt.date.today()
        if birth_date > today or services.age_on(birth_date, today) > 120:
            raise forms.ValidationError(_("Enter your real date of birth."), code="implausible")
        if not services.is_adult(birth_date, today):
            raise forms.ValidationError(_("You must be 18 or older to use Seendr."), code="underage")
        return birth_date


class VerifyEmailForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, except that the request only queues one task with the typed address.

    Looking the address up, making the token and sending happen in a worker, so a known and an
    unknown address cost the request exactly the same work and answer in the same time.
    """

    def save(
        self,
        domain_override=None,
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.html",
        use_https=False,
        token_generator=None,
        from_email=None,
        request=None,
        html_email_template_name=None,
        extra_email_context=None,
    ) -> None:
        if domain_override:
            site_name = domain = domain_override
        else:
            site = get_current_site(request)
            site_name, domain = site.name, site.domain
        tasks.send_password_reset_task.delay_on_commit(
            email=self.cleaned_data["email"],
            domain=domain,
            site_name=site_name,
            protocol="https" if use_https else "http",
            subject_template_name=subject_template_name,
            email_template_name=email_template_name,
            from_email=from_email,
            html_email_template_name=html_email_template_name,
            # The worker writes the mail in the language of the page it was asked from.
            language=translation.get_language(),
        )
