"""Writes to profiles, interests, blocks and friendships, and the Redis state mirroring them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image, ImageOps

from profiles import cache, tasks
from profiles import interests as interest_tags
from profiles.models import MAX_INTERESTS, Block, Friendship, Interest, Profile
from seendr import keys, pool_shards
from seendr.identity import GUEST_TTL_SECONDS, is_identity_id, user_id_from_identity
from seendr.redis_state import state

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = (128, 128)


# --- Cache ---------------------------------------------------------------------------------


def invalidate_profile(*, user_id: int) -> None:
    """Refresh the cached profile once the current transaction commits (at once outside one).

    Call after every write that changes what a profile shows (likes included).
    """
    transaction.on_commit(lambda: cache.write_through(user_id))


# --- Profile -------------------------------------------------------------------------------


def ensure_interests(*, names: Iterable[str]) -> list[Interest]:
    """The Interest rows for these tags, created as needed (normalised, deduplicated)."""
    wanted = list(dict.fromkeys(tag for tag in map(interest_tags.normalise, names) if tag))
    if not wanted:
        return []
    Interest.objects.bulk_create([Interest(name=n) for n in wanted], ignore_conflicts=True)
    by_name = {i.name: i for i in Interest.objects.filter(name__in=wanted)}
    return [by_name[n] for n in wanted]


# Stored suffix per format Pillow detects: never the client's file name, which said .pdf or .eps
# for PNG bytes and so chose how the file was served.
AVATAR_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}


def reencoded_avatar(upload: UploadedFile) -> tuple[ContentFile, str]:
    """The uploaded picture decoded and encoded again in its own format, and its suffix.

    Only pixels survive: metadata (EXIF with a location, comments, a polyglot's payload) is
    dropped, and the stored bytes are ones Pillow wrote. An animated GIF keeps its first frame.
    The form already checked the format, size and pixel count.
    """
    upload.seek(0)
    with Image.open(upload) as image:
        fmt = image.format
        if fmt not in AVATAR_SUFFIXES:
            raise ValueError(f"not an avatar format: {fmt}")
        image.load()
        picture = ImageOps.exif_transpose(image)
        if fmt == "JPEG" and picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        out = io.BytesIO()
        picture.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return ContentFile(out.getvalue()), AVATAR_SUFFIXES[fmt]


@transaction.atomic
def update_profile(
    *,
    user_id: int,
    display_name: str,
    bio: str,
    country: str,
    languages: list[str],
    interests: list[str],
    avatar: UploadedFile | None = None,
) -> Profile:
    """Save the editable fields (already validated by the form); refresh the cache on commit."""
    profile = Profile.objects.select_for_update().get(user_id=user_id)
    profile.display_name = display_name
    profile.bio = bio
    profile.country = country.upper()
    profile.languages = list(dict.fromkeys(languages))
    fields = ["display_name", "bio", "country", "languages", "updated"]
    if avatar is not None:
        picture, suffix = reencoded_avatar(avatar)
        profile.avatar.save(f"{user_id}{suffix}", picture, save=False)
        profile.avatar_thumbnail = ""
        fields += ["avatar", "avatar_thumbnail"]
    profile.save(update_fields=fields)
    tags = ensure_interests(names=interests)
    if len(tags) > MAX_INTERESTS:
        raise ValueError(f"at most {MAX_INTERESTS} interests")
    profile.interests.set(tags)  # the save and this each refresh the cache after commit (signals)
    if avatar is not None:
        tasks.make_avatar_thumbnail_task.delay_on_commit(user_id)
    return profile


def make_avatar_thumbnail(*, user_id: int) -> bool:
    """Write a square thumbnail of the avatar; False when there is no (readable) avatar."""
    profile = Profile.objects.filter(user_id=user_id).first()
    if profile is None or not profile.avatar:
        return False
    try:
        with profile.avatar.open("rb") as f, Image.open(f) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            thumb = ImageOps.fit(image, THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=85)
    except (OSError, Image.DecompressionBombError) as exc:
        logger.warning("avatar of user %s unreadable: %s", user_id, exc)
        return False
    profile.avatar_thumbnail.save(f"{user_id}.jpg", ContentFile(out.getvalue()), save=False)
    Profile.objects.filter(pk=profile.pk).update(avatar_thumbnail=profile.avatar_thumbnail.name)
    invalidate_profile(user_id=user_id)
    return True


def set_email_verified(*, user_id: int, verified: bool = True) -> None:
    Profile.objects.filter(user_id=user_id).update(email_verified=verified, updated=timezone.now())
    invalidate_profile(user_id=user_id)


def touch_last_active(*, user_id: int) -> None:
    """Record activity (drives warm_cache); not shown publicly, so the cache is untouched."""
    Profile.objects.filter(user_id=user_id).update(last_active=timezone.now())


# --- Blocks --------------------------------------------------------------------------------


def block(*, blocker_id: str, blocked_id: str) -> bool:
    """``blocker_id`` never meets ``blocked_id`` again (identity ids, accounts or guests).

    An account's block is a Postgres row (the source of truth) mirrored into the state Redis
    set the matcher reads; a guest's block lives only in Redis and expires with guests.
    Returns True if this block is new.
    """
    if not is_identity_id(blocker_id) or not is_identity_id(blocked_id):
        raise ValueError("not an identity id")
    if blocker_id == blocked_id:
        raise ValueError("an identity cannot block itself")
    blocker_user_id = user_id_from_identity(blocker_id)
    if blocker_user_id is None:
        added = False
        for shard in pool_shards.names():  # every shard's matcher reads its own copy
            key = keys.blocks(blocker_id, shard)
            pipe = state().pipeline()
            pipe.sadd(key, blocked_id)
            pipe.expire(key, GUEST_TTL_SECONDS)
            added = bool(pipe.execute()[0]) or added
        return added
    blocked_user_id = user_id_from_identity(blocked_id)
    if blocked_user_id is not None and not get_user_model().objects.filter(pk=blocked_user_id).exists():
        blocked_user_id = None
    _, created = Block.objects.get_or_create(
        blocker_identity=blocker_id,
        blocked_identity=blocked_id,
        defaults={"blocker_user_id": blocker_user_id, "blocked_user_id": blocked_user_id},
    )
    # Mirrored even when the row existed: the set may have been lost with a Redis flush.
    transaction.on_commit(lambda: _mirror_block(blocker_id, blocked_id))
    if blocked_user_id is not None:
        unfriend(user_id=blocker_user_id, other_user_id=blocked_user_id)
    return created


def _mirror_block(blocker_id: str, blocked_id: str) -> None:
    pipe = state().pipeline(transaction=False)
    for shard in pool_shards.names():
        pipe.sadd(keys.blocks(blocker_id, shard), blocked_id)
    pipe.execute()


def rebuild_block_sets(*, batch_size: int = 1000) -> int:
    """Re-add every account's blocks from Postgres to the block sets of every pool shard, and
    carry guests' block sets (Redis-only) into every shard; returns blocks mirrored.

    Only adds (blocks are never lifted), so a block made while this runs cannot be lost.
    """
    rows = (
        Block.objects.filter(blocker_user__isnull=False)
        .order_by("pk")
        .values_list("blocker_identity", "blocked_identity")
    )
    count = 0
    pipe = state().pipeline(transaction=False)
    for blocker, blocked in rows.iterator(chunk_size=batch_size):
        for shard in pool_shards.names():
            pipe.sadd(keys.blocks(blocker, shard), blocked)
        count += 1
        if count % batch_size == 0:
            pipe.execute()
    pipe.execute()
    return count + _carry_guest_blocks()


def _carry_guest_blocks() -> int:
    """Copy every guest's block set, in whichever pool layout it was written (``{pool}`` before
    pool shards were turned on, a shard's), into every current shard, keeping its expiry.
    Guests' blocks live only in Redis; returns the blocks found."""
    client = state()
    count = 0
    for key in client.scan_iter(match=keys.guest_blocks_pattern(), count=500):
        guest = key.rpartition(":blocks:")[2]
        members, ttl = client.smembers(key), client.ttl(key)
        if not members:
            continue
        for shard in pool_shards.names():
            pipe = state().pipeline()  # one shard's key: SADD and EXPIRE together
            pipe.sadd(keys.blocks(guest, shard), *members)
            pipe.expire(keys.blocks(guest, shard), ttl if ttl > 0 else GUEST_TTL_SECONDS)
            pipe.execute()
        count += len(members)
    return count


def set_ui_language(*, user_id: int, language: str) -> None:
    """Remember the interface language an account chose (blank: follow the browser)."""
    Profile.objects.filter(user_id=user_id).update(ui_language=language)


# --- Friendships ---------------------------------------------------------------------------


def _pair(user_id: int, other_user_id: int) -> Q:
    return Q(user_a_id=user_id, user_b_id=other_user_id) | Q(user_a_id=other_user_id, user_b_id=user_id)


def befriend(*, user_id: int, other_user_id: int, match_id: str = "") -> tuple[Friendship, bool]:
    """Make two accounts friends (both asked); idempotent. Returns (friendship, created).

    Two concurrent calls for the same pair (in either order) meet at the unique constraint on the
    unordered pair: one inserts, the other finds that row.
    """
    if user_id == other_user_id:
        raise ValueError("an account cannot befriend itself")
    existing = Friendship.objects.filter(_pair(user_id, other_user_id)).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return (
                Friendship.objects.create(user_a_id=user_id, user_b_id=other_user_id, match_id=match_id),
                True,
            )
    except IntegrityError:
        return Friendship.objects.get(_pair(user_id, other_user_id)), False


def unfriend(*, user_id: int, other_user_id: int) -> bool:
    """End a friendship for both sides at once. True if there was one."""
    deleted, _ = Friendship.objects.filter(_pair(user_id, other_user_id)).delete()
    return deleted > 0
