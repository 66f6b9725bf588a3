from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_redis import get_redis_connection

from profiles import cache, selectors
from profiles.models import Profile
from seendr import keys

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_warm_cache_loads_the_most_recently_active_users_in_batches(make_user):
    users = [make_user() for _ in range(7)]
    now = timezone.now()
    for i, user in enumerate(users):
        Profile.objects.filter(user=user).update(last_active=now - timezone.timedelta(minutes=i))
    redis = get_redis_connection("default")
    redis.delete(*[keys.profile_record(u.pk) for u in users])

    out, err = run("warm_cache", "--limit", "5", "--batch-size", "2")

    assert re.search(r"Warmed 5 profiles in 3 batches in \d+\.\d\ds", out), out
    assert "5/5" in err  # the progress bar
    cached = {u.pk for u in users if redis.exists(keys.profile_record(u.pk))}
    assert cached == {u.pk for u in users[:5]}
    ttl = redis.ttl(keys.profile_record(users[0].pk))
    assert cache.RECORD_TTL_SECONDS - 2 <= ttl <= cache.RECORD_TTL_SECONDS * (1 + cache.RECORD_TTL_JITTER)


def test_warm_cache_refuses_bad_arguments():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run("warm_cache", "--limit", "0")


def test_cache_stats_shows_the_counters_and_the_hit_ratio(make_user):
    make_user("statty")
    get_redis_connection("default").delete(keys.profile_alias("statty"))
    cache.reset_stats()
    selectors.get_public_profile(username="statty")  # miss, fill
    selectors.get_public_profile(username="statty")  # hit
    selectors.get_public_profile(username="statty")  # hit
    selectors.get_public_profile(username="nobody")  # miss, negative fill
    selectors.get_public_profile(username="nobody")  # negative hit

    out, _ = run("cache_stats")

    values = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.MULTILINE))
    assert values["hits"] == "2" and values["misses"] == "2" and values["negative_hits"] == "1"
    assert values["db_loads"] == "2"
    assert "hit_ratio" in out and "60.00% of 5 reads" in out

    out, _ = run("cache_stats", "--reset")
    assert "Counters reset." in out
    assert cache.stats()["hits"] == 0


def test_rebuild_block_sets_command(make_user):
    from profiles import services

    a, b = make_user(), make_user()
    services.block(blocker_id=f"u{a.pk}", blocked_id=f"u{b.pk}")
    from seendr.redis_state import state

    state().delete(keys.blocks(f"u{a.pk}"))
    out, _ = run("rebuild_block_sets")
    assert "Mirrored 1 blocks" in out
    assert state().sismember(keys.blocks(f"u{a.pk}"), f"u{b.pk}")
