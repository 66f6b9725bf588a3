"""Users in the admin: Django's UserAdmin (search by username and email) plus profile columns."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from moderation.services import kick_live_session
from seendr.identity import user_identity_id

User = get_user_model()


class SeendrUserAdmin(UserAdmin):
    list_display = ("username", "email", "verified", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "profile__email_verified")
    search_fields = ("username", "email")
    list_select_related = ("profile",)
    actions = ["kick_from_live_chat"]

    @admin.display(boolean=True, description="verified", ordering="profile__email_verified")
    def verified(self, obj) -> bool:
        profile = getattr(obj, "profile", None)
        return bool(profile and profile.email_verified)

    @admin.action(description="Kick from live chat (close their sockets, no ban)")
    def kick_from_live_chat(self, request, queryset) -> None:
        count = 0
        for user in queryset:
            kick_live_session(identity_id=user_identity_id(user.pk), moderator=request.user)
            count += 1
        self.message_user(request, f"Kicked {count} user(s) from live chat.", messages.SUCCESS)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SeendrUserAdmin)
