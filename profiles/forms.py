"""The profile edit form: every field validated here, the service trusts its input."""

from __future__ import annotations

import re

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from profiles import interests
from profiles.countries import CODES, COUNTRIES
from profiles.languages import LANGUAGES
from profiles.models import (
    BIO_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    INTEREST_MAX_LENGTH,
    MAX_INTERESTS,
    MAX_LANGUAGES,
)

AVATAR_MAX_BYTES = 5 * 1024 * 1024
AVATAR_MAX_PIXELS = 4096 * 4096
AVATAR_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,4})?\Z")


def split_commas(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class LanguageCheckboxes(forms.CheckboxSelectMultiple):
    """Ticks, one per language by its native name; also takes the older ``languages=en, de`` text."""

    def value_from_datadict(self, data, files, name) -> list[str]:
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if isinstance(values, str):
            values = [values]
        return [code for value in values or [] for code in split_commas(str(value))]

    def format_value(self, value) -> list[str]:
        if isinstance(value, str):
            value = split_commas(value)
        return [str(v).lower() for v in value or []]


class LanguagesField(forms.Field):
    """A list of language codes; validated by ``ProfileForm.clean_languages``, not by the choices,
    so a code saved before the list grew is kept."""

    widget = LanguageCheckboxes

    def to_python(self, value) -> list[str]:
        return list(value or [])


def clean_interests(value: str) -> list[str]:
    parts = split_commas(value)
    for part in parts:
        if len(" ".join(part.split())) > INTEREST_MAX_LENGTH or not interests.is_clean(part):
            raise forms.ValidationError(
                _(
                    "Interests are 1 to %(max)s letters, digits, spaces or the symbols %(symbols)s: "
                    "%(tag)s is not."
                ),
                code="bad_interest",
                params={"max": INTEREST_MAX_LENGTH, "symbols": " ".join(interests.SYMBOLS), "tag": part[:60]},
            )
    tags = list(dict.fromkeys(interests.normalise(part) for part in parts))
    if len(tags) > MAX_INTERESTS:
        raise forms.ValidationError(
            _("At most %(max)s interests."), code="too_many_interests", params={"max": MAX_INTERESTS}
        )
    return tags


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=DISPLAY_NAME_MAX_LENGTH, required=False
    )
    bio = forms.CharField(
        label=_("Bio"), max_length=BIO_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        required=False,
        widget=forms.Select(choices=[("", _("Not shown")), *COUNTRIES]),
        help_text=_("Shown on your card; people may look for partners from one country."),
    )
    languages = LanguagesField(
        label=_("Languages"), required=False, help_text=_("The languages you can talk in.")
    )
    interests = forms.CharField(
        label=_("Interests"),
        max_length=MAX_INTERESTS * (INTEREST_MAX_LENGTH + 2),
        required=False,
        help_text=format_lazy(
            _("Comma separated, at most {count}, for example: jazz, chess, hiking"), count=MAX_INTERESTS
        ),
    )
    avatar = forms.ImageField(
        label=_("Avatar"), required=False, help_text=_("JPEG, PNG, WebP or GIF, at most 5 MB.")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Codes already on the profile stay tickable even when the list does not name them.
        saved = self.fields["languages"].widget.format_value(self.initial.get("languages"))
        known = {code for code, _ in LANGUAGES}
        self.fields["languages"].widget.choices = [*LANGUAGES, *((c, c) for c in saved if c not in known)]

    def clean_display_name(self) -> str:
        return " ".join(self.cleaned_data["display_name"].split())

    def clean_bio(self) -> str:
        return self.cleaned_data["bio"].strip()

    def clean_country(self) -> str:
        code = self.cleaned_data["country"].strip().upper()
        if code and code not in CODES:
            raise forms.ValidationError(_("Choose a country by its ISO 3166 code."), code="bad_country")
        return code

    def clean_languages(self) -> list[str]:
        picked = (part.strip().lower() for part in self.cleaned_data["languages"])
        codes = list(dict.fromkeys(code for code in picked if code))
        bad = [c for c in codes if not LANGUAGE_RE.match(c)]
        if bad:
            raise forms.ValidationError(
                _("Use language codes such as en, de or pt-br: %(bad)s is not one."),
                code="bad_language",
                params={"bad": bad[0][:20]},
            )
        if len(codes) > MAX_LANGUAGES:
            raise forms.ValidationError(
                _("At most %(max)s languages."), code="too_many_languages", params={"max": MAX_LANGUAGES}
            )
        return codes

    def clean_interests(self) -> list[str]:
        return clean_interests(self.cleaned_data["interests"])

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if not avatar:
            return None
        if avatar.size > AVATAR_MAX_BYTES:
            raise forms.ValidationError(_("The picture is larger than 5 MB."), code="too_big")
        image = getattr(avatar, "image", None)  # set by ImageField after Pillow verified it
        if image is None or image.format not in AVATAR_FORMATS:
            raise forms.ValidationError(_("Upload a JPEG, PNG, WebP or GIF picture."), code="bad_format")
        if image.width * image.height > AVATAR_MAX_PIXELS:
            raise forms.ValidationError(_("The picture has too many pixels."), code="too_many_pixels")
        return avatar
