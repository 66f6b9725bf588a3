"""The moderation queue's summary for the admin index (``{% moderation_queue as queue %}``)."""

from __future__ import annotations

from django import template
from django.db.models import Count, Q

from moderation.models import Report, ReportStatus

register = template.Library()


@register.simple_tag
def moderation_queue() -> dict[str, int]:
    """Open reports, and how many of them are urgent (priority above normal)."""
    return Report.objects.filter(status=ReportStatus.OPEN).aggregate(
        open=Count("pk"), urgent=Count("pk", filter=Q(priority__gt=0))
    )
