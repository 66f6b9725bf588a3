"""Reports with the evidence the server held, bans, and every moderator decision.

Postgres is the source of truth; ``keys.banned()`` in Redis is a mirror the matcher and the
consumer read, rebuilt from :class:`Ban` rows by ``moderation.services.rebuild_ban_set``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from seendr.identity import IDENTITY_ID_MAX_LENGTH

NOTE_MAX_LENGTH = 1000
# How much of a display name a report keeps, and of a ban's stated reason.
NAME_MAX_LENGTH = 80
BAN_REASON_MAX_LENGTH = 200


class Reason(models.TextChoices):
    NUDITY = "nudity", "Nudity"
    HARASSMENT = "harassment", "Harassment"
    SPAM = "spam", "Spam"
    UNDERAGE = "underage", "Underage"
    OTHER = "other", "Other"


class Priority(models.IntegerChoices):
    NORMAL = 0, "Normal"
    URGENT = 100, "Urgent (possible minor)"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    WARNED = "warned", "Warned"
    BANNED = "banned", "Banned"


class Report(models.Model):
    """One person's report about their partner in one match (at most one per reporter and match)."""

    match_id = models.CharField(max_length=32, db_index=True)
    reporter_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    # A guest reporter's keyed IP hash: many guests from one address count as one reporter.
    reporter_ip_hash = models.CharField(max_length=64, blank=True)
    reported_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_received",
    )
    reported_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    # Guests have no account to ban; their keyed IP hash lets a ban reach the next guest too.
    reported_ip_hash = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.TextField(max_length=NOTE_MAX_LENGTH, blank=True)
    # What the server held when the report came in: {"transcript": [...], "match": {...}, ...}.
    evidence = models.JSONField(default=dict, blank=True)
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-priority", "-created"]
        indexes = [
            models.Index(
                models.F("priority").desc(),
                models.F("created").desc(),
                name="report_open_queue",
                condition=models.Q(status="open"),
            ),
            models.Index(fields=["reported_identity", "created"], name="report_reported_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["match_id", "reporter_identity"], name="report_once_per_match"),
            models.CheckConstraint(
                condition=~models.Q(reporter_identity=models.F("reported_identity")),
                name="report_not_self",
            ),
            models.CheckConstraint(condition=models.Q(reason__in=Reason.values), name="report_reason_known"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.reported_name or self.reported_identity}"


class ReportSnapshot(models.Model):
    """A still of the reported person's video, taken by the reporter's browser (nudity reports).

    Its own table so lists of reports never load image bytes; dropped with the transcript by
    ``moderation.services.prune_evidence``. Never served under /media/: only the admin shows it.
    """

    report = models.OneToOneField(Report, primary_key=True, on_delete=models.CASCADE, related_name="snapshot")
    jpeg = models.BinaryField()
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    taken_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"snapshot of report {self.report_id} ({self.width}x{self.height})"


class ReportQueue(Report):
    """Open reports only: the moderators' to-do list in the admin."""

    class Meta:
        proxy = True
        verbose_name = "open report"
        verbose_name_plural = "moderation queue"


class Ban(models.Model):
    """An identity (account or guest, optionally its IP hash) may not use Seendr until ``until``."""

    identity_id = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="bans"
    )
    ip_hash = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.CharField(max_length=BAN_REASON_MAX_LENGTH)
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: forever.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: automatic.",
    )
    created = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="bans")

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(until__isnull=True) | models.Q(until__gt=models.F("created")),
                name="ban_ends_after_it_starts",
            ),
            models.CheckConstraint(condition=~models.Q(identity_id=""), name="ban_names_identity"),
        ]

    def __str__(self) -> str:
        return f"ban of {self.identity_id} until {self.until or 'forever'}"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.lifted_at is None and (self.until is None or self.until > now)

    is_active.boolean = True  # type: ignore[attr-defined]


class ActionKind(models.TextChoices):
    DISMISS = "dismiss", "Dismissed"
    WARN = "warn", "Warned"
    BAN = "ban", "Banned"
    AUTO_SUSPEND = "auto_suspend", "Auto-suspended"
    LIFT = "lift", "Ban lifted"
    KICK = "kick", "Kicked from live chat"


class ModerationAction(models.Model):
    """The audit trail: who decided what, about whom, when."""

    kind = models.CharField(max_length=16, choices=ActionKind.choices)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_identity = models.CharField(max_length=IDENTITY_ID_MAX_LENGTH, db_index=True)
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    ban = models.ForeignKey(Ban, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    note = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        who = self.moderator or "system"
        return f"{self.get_kind_display()} {self.target_identity} by {who}"
