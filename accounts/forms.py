"""Forms of the account pages. Messages avoid confirming which emails have accounts."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm

from accounts import services, tasks

EMAIL_UNUSABLE = (
    "This email address cannot be used for a new account. If you already have an account, "
    "log in or reset your password."
)


class SignUpForm(UserCreationForm):
    email = forms.EmailField(max_length=254)
    birth_date = forms.DateField(
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Seendr is for adults (18+) only. Never shown to anyone.",
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
            raise forms.ValidationError("Enter your real date of birth.", code="implausible")
        if not services.is_adult(birth_date, today):
            raise forms.ValidationError("You must be 18 or older to use Seendr.", code="underage")
        return birth_date


class VerifyEmailForm(forms.Form):
    code = forms.CharField(
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, except the mail is sent by a worker after the request commits."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        user = context["user"]
        plain = {
            "email": context["email"],
            "domain": context["domain"],
            "site_name": context["site_name"],
            "uid": context["uid"],
            "token": context["token"],
            "protocol": context["protocol"],
            "username": user.get_username(),
        }
        tasks.send_password_reset_email_task.delay_on_commit(
            subject_template_name, email_template_name, plain, from_email, to_email, html_email_template_name
        )
