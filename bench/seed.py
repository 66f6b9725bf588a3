"""Fast, repeatable seeding of benchmark accounts in the scratch database.

Accounts ``bench000001`` ... come from the project's own ``manage.py seed_demo`` (PostgreSQL COPY,
no match history, no leaderboard rebuild) when it exists; otherwise from one ``INSERT … SELECT
generate_series`` for users (unusable password), one for profiles (every other column gets its
model default) and one for three interests each. Idempotent: only missing users are added.
"""

from __future__ import annotations

import os
import time

VOCAB = [f"interest{i}" for i in range(50)]
COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "BR", "IN", "JP", "NL"]


PREFIX = "bench"
NAME_RE = r"^bench[0-9]{6,}$"


def username(n: int) -> str:
    return f"{PREFIX}{n:06d}"


def seed_users(count: int) -> dict[str, float]:
    """Make sure bench000001.. exist (``count`` of them) with profiles; returns timings."""
    from django.core.management import get_commands

    t0 = time.monotonic()
    have = _existing()
    if "seed_demo" in get_commands() and have < count and not os.environ.get("BENCH_NO_SEED_DEMO"):
        import io

        from django.core.management import call_command

        call_command(
            "seed_demo",
            users=count - have,
            prefix=PREFIX,
            matches_per_user=0.0,
            no_leaderboards=True,
            no_progress=True,
            force=True,
            seed=1,
            stdout=io.StringIO(),
        )
        return {"seconds": time.monotonic() - t0, "via": "manage.py seed_demo"}
    from django.db import connection, transaction

    from profiles.models import Interest, Profile

    if have >= count:
        return {"seconds": time.monotonic() - t0, "via": "existing"}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                   is_active, date_joined)
            SELECT '!bench', false, 'bench' || lpad(n::text, 6, '0'), '', '', '', false, true, now()
              FROM generate_series(%s, %s) AS n
            ON CONFLICT (username) DO NOTHING
            """,
            [have + 1, count],
        )
    interests = {i.name: i.pk for i in Interest.objects.filter(name__in=VOCAB)}
    missing = [Interest(name=name) for name in VOCAB if name not in interests]
    if missing:
        Interest.objects.bulk_create(missing, ignore_conflicts=True)
    # Profiles: every column gets its model default, except the few a benchmark reads.
    template = Profile(display_name="x", bio="Seeded for benchmarks.", languages=["en"])
    columns, values, params = [], [], []
    for f in Profile._meta.concrete_fields:
        if f.primary_key or f.name == "user":
            continue
        columns.append(f.column)
        if f.name == "display_name":
            values.append("'Bench ' || substr(u.username, 6)")
        elif f.name == "country":
            values.append(f"(ARRAY[{', '.join(['%s'] * len(COUNTRIES))}])[1 + u.id %% {len(COUNTRIES)}]")
            params += COUNTRIES
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values.append("now()")
        else:
            values.append("%s")
            params.append(f.get_db_prep_save(getattr(template, f.attname), connection))
    through = Profile.interests.through
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {Profile._meta.db_table} (user_id, {", ".join(columns)})
            SELECT u.id, {", ".join(values)}
              FROM auth_user u
             WHERE u.username ~ %s
               AND NOT EXISTS (SELECT 1 FROM {Profile._meta.db_table} p WHERE p.user_id = u.id)
            """,
            [*params, NAME_RE],
        )
        # Three distinct interests per profile: positions id*7, +13, +26 (mod 50).
        cur.execute(
            f"""
            INSERT INTO {through._meta.db_table} (profile_id, interest_id)
            SELECT p.id, i.id
              FROM {Profile._meta.db_table} p
              JOIN auth_user u ON u.id = p.user_id AND u.username ~ %s
              CROSS JOIN generate_series(0, 2) AS k
              JOIN {Interest._meta.db_table} i ON i.name = 'interest' || ((p.id * 7 + k * 13) %% 50)
             WHERE NOT EXISTS (SELECT 1 FROM {through._meta.db_table} t WHERE t.profile_id = p.id)
            """,
            [NAME_RE],
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE auth_user")
        cur.execute("ANALYZE profiles_profile")
        cur.execute(f"ANALYZE {Profile.interests.through._meta.db_table}")
        cur.execute(f"ANALYZE {Interest._meta.db_table}")
    return {"seconds": time.monotonic() - t0, "via": "bulk insert"}


def _existing() -> int:
    from profiles.models import Profile

    return Profile.objects.filter(user__username__regex=NAME_RE).count()


def accounts(limit: int) -> list[tuple[int, str]]:
    """(pk, username) of the first ``limit`` bench accounts, in username order."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(username__regex=NAME_RE)
        .order_by("username")
        .values_list("pk", "username")[:limit]
    )


def user_ids(limit: int) -> list[int]:
    return [pk for pk, _ in accounts(limit)]
