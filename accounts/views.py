"""Account pages: guest entry, sign-up, log-in/out, email verification, password reset.

Each view is a plain function or Django view class so the rate limiter can decorate it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import forms, language, services, tasks

# The landing page's online count (matching's data, one floor up): a listed selector exception.
from matching.selectors import online_now
from moderation.forms import BanAwareAuthenticationForm
from moderation.selectors import is_ip_banned
from profiles.models import Profile
from seendr import identity as identities
from seendr import networks
from seendr.identity import GUEST_SESSION_KEY

# One client IP site-wide: behind our proxy (TRUSTED_PROXY_HOPS) REMOTE_ADDR is the proxy.
from seendr.ratelimit import client_ip, post_field, rate_limit, user_key

CHAT_URL = "/chat/"


def _profile(request: HttpRequest) -> Profile:
    # get_or_create: a user loaded from a raw fixture has no profile yet.
    return Profile.objects.get_or_create(user=request.user)[0]


def _network_banned(request: HttpRequest) -> bool:
    """A ban covers the network its identity used: no new guest or account from it meanwhile."""
    return is_ip_banned(networks.hash_ip(client_ip(request)))


@require_POST
@rate_limit("guest_ip")
def guest_start(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(CHAT_URL)
    if request.POST.get("adult") != "on":
        messages.error(request, _("Please confirm that you are 18 or older and accept the rules."))
        return render(request, "landing.html", {"guest_error": True, "online": online_now()}, status=400)
    existing = request.session.get(GUEST_SESSION_KEY)
    if existing and identities.get_guest(guest_id=existing) is not None:
        return redirect(CHAT_URL)
    if _network_banned(request):
        messages.error(request, _("Guest access from your network is suspended after a moderation decision."))
        return render(request, "landing.html", {"guest_error": True, "online": online_now()}, status=403)
    identity = services.start_guest(ip=client_ip(request))
    request.session.cycle_key()
    request.session[GUEST_SESSION_KEY] = identity.id
    return redirect(CHAT_URL)


@require_http_methods(["GET", "POST"])
@rate_limit("signup_ip")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(CHAT_URL)
    form = forms.SignUpForm(request.POST or None)
    if request.method == "POST" and _network_banned(request):
        form.add_error(None, "Sign-up from your network is suspended after a moderation decision.")
        return render(request, "accounts/signup.html", {"form": form}, status=403)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                birth_date=form.cleaned_data["birth_date"],
                password=form.cleaned_data["password1"],
                guest_id=request.session.get(GUEST_SESSION_KEY),
                language=request.LANGUAGE_CODE,
            )
        except services.SignUpRefused as refused:
            if refused.field == "username":
                form.add_error("username", _("A user with that username already exists."))
            else:
                form.add_error("email", forms.EMAIL_UNUSABLE)
            return render(request, "accounts/signup.html", {"form": form}, status=400)
        request.session.pop(GUEST_SESSION_KEY, None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to Seendr! We emailed you a 6-digit code."))
        return redirect("verify_email")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("otp_attempt", key=user_key)
def verify_email(request: HttpRequest) -> HttpResponse:
    verified = _profile(request).email_verified
    form = forms.VerifyEmailForm(request.POST or None)
    if request.method == "POST" and not verified and form.is_valid():
        result = services.verify_email(user_id=request.user.pk, code=form.cleaned_data["code"])
        if result.ok:
            messages.success(request, _("Your email address is verified."))
            return redirect(CHAT_URL)
        if result.status == "wrong":
            form.add_error(
                "code",
                ngettext(
                    "That code is not right. %(count)d try left.",
                    "That code is not right. %(count)d tries left.",
                    result.tries_left,
                )
                % {"count": result.tries_left},
            )
        elif result.status == "locked":
            form.add_error("code", _("Too many wrong codes. Request a new code."))
        else:
            form.add_error("code", _("This code has expired. Request a new code."))
    status = 400 if form.errors else 200
    return render(request, "accounts/verify_email.html", {"form": form, "verified": verified}, status=status)


@login_required
@require_POST
@rate_limit("otp_resend", key=user_key)
def resend_code(request: HttpRequest) -> HttpResponse:
    if not _profile(request).email_verified:
        tasks.send_verification_code_task.delay_on_commit(request.user.pk)
        messages.info(request, _("We sent you a new code. It is valid for 10 minutes."))
    return redirect("verify_email")


@method_decorator(rate_limit("login_ip"), name="dispatch")
@method_decorator(rate_limit("login_user", key=post_field("username")), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    # Refuses a banned account (after the right password) saying why and until when.
    authentication_form = BanAwareAuthenticationForm

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        language.apply_saved_language(self.request, form.get_user(), response)
        return response


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@method_decorator(rate_limit("password_reset_ip"), name="dispatch")
@method_decorator(rate_limit("password_reset_email", key=post_field("email")), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.QueuedPasswordResetForm
    success_url = reverse_lazy("password_reset_done")
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")
