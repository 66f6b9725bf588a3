"""Every user gets a profile, whoever creates it (sign-up, admin, createsuperuser, a script)."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="profiles.create_profile_for_user")
def create_profile_for_user(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from profiles.models import Profile

        Profile.objects.get_or_create(user=instance)
