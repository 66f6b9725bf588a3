from django.contrib import admin

from leaderboard.models import Like


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ("created", "liker_identity", "liker_user", "liked_identity", "liked_user", "match_id")
    list_filter = (("created", admin.DateFieldListFilter),)
    date_hierarchy = "created"
    search_fields = (
        "liker_user__username",
        "liked_user__username",
        "liker_identity",
        "liked_identity",
        "=match_id",
    )
    list_select_related = ("liker_user", "liked_user")
    raw_id_fields = ("liker_user", "liked_user")
    readonly_fields = ("created",)
    ordering = ("-created",)
    show_full_result_count = False
