from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from profiles import interests as interest_tags
from seendr.identity import IDENTITY_ID_MAX_LENGTH

# How much of a display name a match record keeps.
NAME_MAX_LENGTH = 80


class EndReason(models.TextChoices):
    NEXT = "next", "Next"
    LEAVE = "leave", "Leave"
    DISCONNECT = "disconnect", "Disconnect"
    BANNED = "banned", "Banned"
    REPORT = "report", "Report"
    BLOCK = "block", "Block"


class Match(models.Model):
    """One finished conversation between two identities (accounts or guests).

    The primary key is the match id the live matcher handed out, so writing the same match
    twice (a retried task) is a no-op.
    """

    id = models.CharField(primary_key=True, max_length=32)
    identity_a = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    identity_b = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    user_a = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user_b = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name_a = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    name_b = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    common_interests = ArrayField(
        models.CharField(max_length=interest_tags.MAX_LENGTH), default=list, blank=True
    )
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(db_index=True)
    duration_seconds = models.FloatField()
    ended_by = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices)

    class Meta:
        ordering = ["-ended_at"]
        verbose_name_plural = "matches"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_seconds__gte=0), name="match_duration_non_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(identity_a=models.F("identity_b")), name="match_not_with_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_a or self.identity_a} ↔ {self.name_b or self.identity_b} ({self.end_reason})"
