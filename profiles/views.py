"""Profile pages: edit your own, view anyone's. Reads go through the cached selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from profiles import selectors, services
from profiles.countries import NAMES
from profiles.forms import ProfileForm
from profiles.models import Profile


def _initial(profile: Profile) -> dict:
    return {
        "display_name": profile.display_name,
        "bio": profile.bio,
        "country": profile.country,
        "languages": ", ".join(profile.languages),
        "interests": ", ".join(sorted(i.name for i in profile.interests.all())),
    }


@login_required
@require_http_methods(["GET", "POST"])
def edit_profile(request: HttpRequest) -> HttpResponse:
    # get_or_create: a user loaded from a raw fixture has no profile yet.
    profile, _created = Profile.objects.prefetch_related("interests").get_or_create(user=request.user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            services.update_profile(
                user_id=request.user.pk,
                display_name=form.cleaned_data["display_name"],
                bio=form.cleaned_data["bio"],
                country=form.cleaned_data["country"],
                languages=form.cleaned_data["languages"],
                interests=form.cleaned_data["interests"],
                avatar=form.cleaned_data["avatar"],
            )
            messages.success(request, _("Profile saved."))
            return redirect("edit_profile")
    else:
        form = ProfileForm(initial=_initial(profile))
    return render(
        request,
        "profiles/edit.html",
        {"form": form, "profile": profile},
        status=400 if form.errors else 200,
    )


@require_GET
def public_profile(request: HttpRequest, username: str) -> HttpResponse:
    record = selectors.get_profile_record(username=username)
    if record is None:
        return render(request, "profiles/not_found.html", {"username": username}, status=404)
    return render(
        request,
        "profiles/public.html",
        {
            "p": record,
            "country_name": NAMES.get(record["country"], ""),
            "is_me": request.user.pk == record["user_id"],
        },
    )
