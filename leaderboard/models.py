"""Likes: the durable record behind the likes leaderboards (talk time comes from matching.Match)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from seendr.identity import IDENTITY_ID_MAX_LENGTH


class Like(models.Model):
    """One identity liked its partner of one match. At most one like per liker per match.

    Guests may like and be liked; only registered users (``liked_user`` set) are ranked. Deleting
    an account keeps the row (the history of the other side) and clears the foreign key.
    """

    match_id = models.CharField(max_length=32)
    liker_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH)
    liker_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="likes_given"
    )
    liked_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    liked_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="likes_got"
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["match_id", "liker_identity"], name="like_once_per_match"),
            models.CheckConstraint(
                condition=~models.Q(liker_identity=models.F("liked_identity")), name="like_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["liked_user", "created"], name="like_liked_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.liker_identity} likes {self.liked_identity} ({self.match_id})"
