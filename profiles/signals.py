"""Every user gets a profile, whoever creates it (sign-up, admin, createsuperuser, a script).
Imported by ``ProfilesConfig.ready()``, once the models are loaded.

User changes that show on a profile (username, active flag) refresh the cached profile.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from profiles.models import Profile
from profiles.services import invalidate_profile, touch_last_active

_PUBLIC_USER_FIELDS = frozenset({"username", "is_active"})


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="profiles.create_profile_for_user")
def create_profile_for_user(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    update_fields = kwargs.get("update_fields")
    if created:
        Profile.objects.get_or_create(user=instance)
    elif update_fields is not None and not (set(update_fields) & _PUBLIC_USER_FIELDS):
        return  # e.g. last_login on every log-in
    invalidate_profile(user_id=instance.pk)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="profiles.forget_deleted_user")
def forget_deleted_user(sender, instance, **kwargs) -> None:
    """A deleted account's profile leaves the cache at once (after commit), not at its TTL."""
    invalidate_profile(user_id=instance.pk)


@receiver(user_logged_in, dispatch_uid="profiles.touch_last_active_on_login")
def touch_last_active_on_login(sender, request, user, **kwargs) -> None:
    touch_last_active(user_id=user.pk)


def _profile_changed(sender, instance, raw: bool = False, **kwargs) -> None:
    """Any save of a profile (services, admin, shell) refreshes its cached copy after commit."""
    if raw:
        return
    invalidate_profile(user_id=instance.user_id)


def _interests_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        invalidate_profile(user_id=instance.user_id)
    elif pk_set:  # an interest gained or lost profiles (admin edits of an interest)
        for user_id in Profile.objects.filter(pk__in=pk_set).values_list("user_id", flat=True):
            invalidate_profile(user_id=user_id)


def connect() -> None:
    post_save.connect(_profile_changed, sender=Profile, dispatch_uid="profiles.profile_changed")
    m2m_changed.connect(
        _interests_changed, sender=Profile.interests.through, dispatch_uid="profiles.interests_changed"
    )
