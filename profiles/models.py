"""Profiles, interests, blocks and friendships: the durable side of a person on Seendr."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Greatest, Least, Lower

from profiles import interests
from seendr.identity import IDENTITY_ID_MAX_LENGTH

BIO_MAX_LENGTH = 300
DISPLAY_NAME_MAX_LENGTH = 50
INTEREST_MAX_LENGTH = interests.MAX_LENGTH
MAX_INTERESTS = interests.MAX_COUNT
LANGUAGE_CODE_MAX_LENGTH = 8
MAX_LANGUAGES = 10


class Interest(models.Model):
    """A normalised lower-case tag such as ``jazz`` or ``board games``."""

    name = models.CharField(max_length=INTEREST_MAX_LENGTH, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(name=Lower("name")), name="interest_name_lower_case"),
            models.CheckConstraint(condition=~models.Q(name=""), name="interest_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name = interests.normalise(self.name)
        super().save(*args, **kwargs)


class Profile(models.Model):
    """The public face of an account. Every user has exactly one (created with the user)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX_LENGTH, blank=True)
    bio = models.CharField(max_length=BIO_MAX_LENGTH, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, upper case.")
    languages = ArrayField(
        models.CharField(max_length=LANGUAGE_CODE_MAX_LENGTH), default=list, blank=True, size=MAX_LANGUAGES
    )
    interests = models.ManyToManyField(Interest, blank=True, related_name="profiles")
    avatar = models.ImageField(upload_to="avatars/%Y/%m/", blank=True)
    avatar_thumbnail = models.ImageField(upload_to="avatars/thumbs/%Y/%m/", blank=True)
    birth_date = models.DateField(null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    # The interface language the account chose with the switcher (a code of settings.LANGUAGES);
    # blank: the browser's Accept-Language decides. Applied to the language cookie at log-in.
    ui_language = models.CharField(max_length=LANGUAGE_CODE_MAX_LENGTH, blank=True)
    # Incremented with F() by the leaderboard app, which then invalidates the cached profile.
    likes_received = models.PositiveIntegerField(default=0)
    karma = models.FloatField(default=0)
    last_active = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(models.F("last_active").desc(nulls_last=True), name="profile_last_active_desc"),
            models.Index(fields=["country"], name="profile_country"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country="") | models.Q(country__regex=r"^[A-Z]{2}$"),
                name="profile_country_iso_alpha2",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()


class Block(models.Model):
    """``blocker`` never meets ``blocked`` again. Identity ids cover accounts and guests alike."""

    blocker_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    blocked_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    blocker_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blocks_received",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["blocker_identity", "blocked_identity"], name="block_unique_pair"
            ),
            models.CheckConstraint(
                condition=~models.Q(blocker_identity=models.F("blocked_identity")), name="block_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_identity} blocks {self.blocked_identity}"


class Friendship(models.Model):
    """Two accounts who both asked to stay in touch after meeting. One row per pair.

    The pair is unordered: the unique constraint is on (least, greatest) of the two user ids, so
    (a, b) and (b, a) are the same friendship and two concurrent "both asked" writes make one row.
    """

    user_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The match where they met (a matching.Match id; no foreign key: history is written later).
    match_id = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                Least("user_a", "user_b"), Greatest("user_a", "user_b"), name="friendship_unique_pair"
            ),
            models.CheckConstraint(
                condition=~models.Q(user_a=models.F("user_b")), name="friendship_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_a_id} and {self.user_b_id} are friends"

    def other(self, user_id: int) -> int:
        """The friend of ``user_id`` in this pair."""
        return self.user_b_id if self.user_a_id == user_id else self.user_a_id
