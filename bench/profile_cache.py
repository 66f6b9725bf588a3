"""Profile cache hit ratio under a Zipf-like read load.

    .venv/bin/python bench/profile_cache.py [--profiles 10000] [--reads 100000] [--s 1.1]

Method: a scratch database (Django's test-database machinery, dropped at the end) is seeded with
``--profiles`` accounts (3 interests each); every Redis key uses a private prefix and is
deleted at the end. Popularity follows Zipf: the profile of rank k is read with probability
proportional to 1/k^s, ranks mapped to users in a seeded random order. ``--reads`` reads go
through ``profiles.selectors.get_public_profile`` (the path of ``/api/profiles/<name>/``) from a
cold cache, one sequential client; the hit ratio comes from the cache's own Redis counters
(``manage.py cache_stats``). Then the same read count again after ``profiles.cache.warm`` over
all profiles (what ``manage.py warm_cache`` does).

Bounded: refuses non-loopback PostgreSQL/Redis, caps the counts, stops at ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_PROFILES = 200_000
MAX_READS = 2_000_000
LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}


def zipf_ranks(n: int, s: float, count: int, seed: int) -> list[int]:
    weights = [1.0 / (k**s) for k in range(1, n + 1)]
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    rng = random.Random(seed)
    return [bisect.bisect_left(cumulative, rng.random() * total) for _ in range(count)]


def check_loopback(settings) -> None:
    hosts = {settings.DATABASES["default"].get("HOST") or ""}
    hosts |= {
        urlsplit(settings.REDIS_CACHE_URL).hostname or "",
        urlsplit(settings.REDIS_STATE_URL).hostname or "",
    }
    if not hosts <= LOOPBACK:
        sys.exit(f"refusing to run against non-loopback hosts: {sorted(hosts - LOOPBACK)}")


def seed(n: int) -> list[str]:
    from django.contrib.auth import get_user_model

    from profiles.models import Interest, Profile

    User = get_user_model()
    tags = [Interest(name=f"topic {i}") for i in range(60)]
    Interest.objects.bulk_create(tags)
    tags = list(Interest.objects.all())
    names = [f"bench{i:06d}" for i in range(n)]
    rng = random.Random(11)
    for start in range(0, n, 2000):
        chunk = names[start : start + 2000]
        users = User.objects.bulk_create([User(username=u, password="!") for u in chunk])
        profiles = Profile.objects.bulk_create(
            [
                Profile(
                    user=u,
                    display_name=u.username.title(),
                    bio="Benchmark profile " * 5,
                    country=rng.choice(["DE", "BR", "US", "JP", "IN", ""]),
                    languages=["en"],
                )
                for u in users
            ]
        )
        Through = Profile.interests.through
        Through.objects.bulk_create(
            [Through(profile=p, interest=t) for p in profiles for t in rng.sample(tags, 3)]
        )
    return names


def read_phase(names: list[str], ranks: list[int], deadline: float) -> dict:
    from profiles import cache, selectors

    cache.reset_stats()
    latencies = []
    started = time.perf_counter()
    for rank in ranks:
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        profile = selectors.get_public_profile(username=names[rank])
        latencies.append(time.perf_counter() - t0)
        assert profile is not None and profile["username"] == names[rank]
    elapsed = time.perf_counter() - started
    stats = cache.stats()
    reads = stats["hits"] + stats["misses"]
    latencies.sort()
    if not latencies:
        sys.exit("time budget exhausted before any read; raise --max-seconds")
    return {
        "reads": len(latencies),
        "hits": stats["hits"],
        "misses": stats["misses"],
        "db_loads": stats["db_loads"],
        "hit_ratio": stats["hits"] / reads if reads else 0.0,
        "seconds": elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument("--s", type=float, default=1.1, help="Zipf exponent")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args()
    profiles_n = min(args.profiles, MAX_PROFILES)
    reads_n = min(args.reads, MAX_READS)

    os.environ["DJANGO_SETTINGS_MODULE"] = "seendr.settings_test"
    os.environ["SEENDR_KEY_PREFIX"] = f"benchpc{os.getpid()}:"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases
    from django_redis import get_redis_connection

    from profiles import cache, selectors
    from seendr.redis_state import scan_delete, state

    check_loopback(settings)
    deadline = time.monotonic() + args.max_seconds
    db_config = setup_databases(verbosity=0, interactive=False)
    try:
        t0 = time.perf_counter()
        names = seed(profiles_n)
        seed_seconds = time.perf_counter() - t0
        order = list(range(profiles_n))
        random.Random(args.seed + 1).shuffle(order)  # popularity rank -> user
        ranked = [names[i] for i in order]
        ranks = zipf_ranks(profiles_n, args.s, reads_n, args.seed)
        distinct = len(set(ranks))

        cache.reset_circuit()
        cold = read_phase(ranked, ranks, deadline)
        t0 = time.perf_counter()
        warmed = sum(cache.warm(selectors.recently_active_user_ids(limit=profiles_n), batch_size=500))
        warm_seconds = time.perf_counter() - t0
        warm = read_phase(ranked, zipf_ranks(profiles_n, args.s, reads_n, args.seed + 2), deadline)

        print(
            f"profiles={profiles_n} reads={reads_n} zipf_s={args.s} seed={args.seed} "
            f"(seeded in {seed_seconds:.1f}s)"
        )
        print(
            f"distinct profiles read: {distinct} -> best possible cold-start hit ratio "
            f"{1 - distinct / reads_n:.2%} (each first read must miss)"
        )
        for label, r in (("cold start", cold), ("after warm", warm)):
            print(
                f"{label:>10}: hit ratio {r['hit_ratio']:.2%} ({r['hits']} hits, {r['misses']} misses, "
                f"{r['db_loads']} Postgres loads) over {r['reads']} reads in {r['seconds']:.1f}s "
                f"({r['reads'] / r['seconds']:.0f} reads/s, "
                f"p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms)"
            )
        print(f"warm: {warmed} profiles in {warm_seconds:.2f}s")
    finally:
        prefix = settings.SEENDR_KEY_PREFIX + "*"
        scan_delete(get_redis_connection("default"), prefix)
        scan_delete(state(), prefix)
        teardown_databases(db_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
