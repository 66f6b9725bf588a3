"""Match history in the Django admin: read-only, filterable by date and end reason."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from matching.models import Match


def format_duration(seconds: float) -> str:
    """``75.4`` -> ``"1m 15s"``; ``3725`` -> ``"1h 2m 5s"``."""
    total = round(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ("id", "name_a", "name_b", "started_at", "ended_at", "duration", "end_reason", "ended_by")
    list_filter = (
        "end_reason",
        ("ended_at", admin.DateFieldListFilter),
        ("started_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "=id",
        "name_a",
        "name_b",
        "=identity_a",
        "=identity_b",
        "user_a__username",
        "user_b__username",
    )
    date_hierarchy = "ended_at"
    ordering = ("-ended_at",)
    list_select_related = ("user_a", "user_b")
    list_per_page = 50
    show_full_result_count = False  # counting a large history on every page load is wasteful

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, obj: Match) -> str:
        return format_duration(obj.duration_seconds)

    # History is written by the match-end task only; moderators read it.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Match | None = None) -> bool:
        return False
