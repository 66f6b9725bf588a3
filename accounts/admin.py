"""Users in the admin: Django's UserAdmin (search by username and email) plus profile columns."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

User = get_user_model()


class SeendrUserAdmin(UserAdmin):
    list_display = ("username", "email", "verified", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "profile__email_verified")
    search_fields = ("username", "email")
    list_select_related = ("profile",)

    @admin.display(boolean=True, description="verified", ordering="profile__email_verified")
    def verified(self, obj) -> bool:
        profile = getattr(obj, "profile", None)
        return bool(profile and profile.email_verified)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SeendrUserAdmin)
