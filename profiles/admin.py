from django.contrib import admin
from django.db.models import Count

from profiles.models import Block, Friendship, Interest, Profile
from profiles.services import invalidate_profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "display_name",
        "country",
        "email_verified",
        "likes_received",
        "karma",
        "last_active",
        "created",
    )
    list_filter = ("country", "email_verified")
    search_fields = ("user__username", "user__email", "display_name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    filter_horizontal = ("interests",)
    readonly_fields = ("likes_received", "created", "updated", "last_active")
    date_hierarchy = "created"

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # After the interests are saved too; the refresh itself runs after commit.
        invalidate_profile(user_id=form.instance.user_id)


@admin.register(Interest)
class InterestAdmin(admin.ModelAdmin):
    list_display = ("name", "usage")
    search_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(usage_count=Count("profiles"))

    @admin.display(description="profiles", ordering="usage_count")
    def usage(self, obj: Interest) -> int:
        return obj.usage_count


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker_identity", "blocked_identity", "blocker_user", "blocked_user", "created")
    search_fields = (
        "blocker_identity",
        "blocked_identity",
        "blocker_user__username",
        "blocked_user__username",
    )
    list_select_related = ("blocker_user", "blocked_user")
    raw_id_fields = ("blocker_user", "blocked_user")
    date_hierarchy = "created"


@admin.register(Friendship)
class FriendshipAdmin(admin.ModelAdmin):
    """Read and remove only: a friendship is made by two people asking, never by staff."""

    list_display = ("user_a", "user_b", "match_id", "created")
    search_fields = ("user_a__username", "user_b__username", "match_id")
    list_select_related = ("user_a", "user_b")
    raw_id_fields = ("user_a", "user_b")
    readonly_fields = ("user_a", "user_b", "match_id", "created")
    date_hierarchy = "created"

    def has_add_permission(self, request) -> bool:
        return False
