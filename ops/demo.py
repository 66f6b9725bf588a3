"""Demo data for development, load tests and screenshots: realistic users and their history.

Fast on purpose: 100,000 users with profiles, interests, match history and likes load in seconds,
because rows go in with PostgreSQL ``COPY`` (psycopg) and every account shares one password hash
computed once (hashing 100,000 Argon2 passwords would take hours). The rows are what the apps'
services would have written: ``Profile.likes_received`` equals the ``Like`` rows, matches are
between two seeded users, likes are once per liker and match.

Columns come from the models' metadata, and a field the seeder does not set gets the model's
default, so new fields with a default need no change here.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from leaderboard.models import Like
from matching.models import Match
from profiles.models import Interest, Profile

FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elif",
    "Farah",
    "Gabriel",
    "Hana",
    "Ivan",
    "Jade",
    "Kenji",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
    "Amir",
    "Bianca",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
    "Greta",
    "Hugo",
    "Isla",
    "Jonas",
    "Kofi",
    "Lucia",
    "Malik",
    "Noor",
    "Oskar",
    "Paula",
    "Rafael",
    "Sofia",
    "Tomás",
    "Ulla",
    "Vera",
    "Yusuf",
)
INTERESTS = (
    "music",
    "movies",
    "gaming",
    "travel",
    "cooking",
    "football",
    "basketball",
    "anime",
    "books",
    "art",
    "photography",
    "hiking",
    "yoga",
    "fitness",
    "chess",
    "coding",
    "startups",
    "crypto",
    "jazz",
    "hip hop",
    "rock",
    "k-pop",
    "techno",
    "languages",
    "philosophy",
    "history",
    "science",
    "space",
    "cats",
    "dogs",
    "fashion",
    "design",
    "cars",
    "cycling",
    "running",
    "climbing",
    "surfing",
    "skiing",
    "board games",
    "poetry",
    "theatre",
    "podcasts",
    "memes",
    "politics",
    "psychology",
    "gardening",
    "baking",
    "coffee",
    "tea",
    "wine",
    "vegan",
    "meditation",
    "dance",
    "guitar",
    "piano",
    "drawing",
    "writing",
    "volunteering",
)
# (country, its languages, weight): where the demo crowd comes from.
COUNTRIES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("US", ("en",), 20),
    ("GB", ("en",), 8),
    ("DE", ("de", "en"), 7),
    ("FR", ("fr", "en"), 6),
    ("ES", ("es", "en"), 5),
    ("BR", ("pt", "en"), 7),
    ("MX", ("es",), 5),
    ("IN", ("hi", "en"), 9),
    ("TR", ("tr", "en"), 4),
    ("JP", ("ja",), 3),
    ("KR", ("ko", "en"), 3),
    ("IT", ("it", "en"), 4),
    ("PL", ("pl", "en"), 3),
    ("NL", ("nl", "en"), 2),
    ("SE", ("sv", "en"), 2),
    ("NG", ("en",), 3),
    ("EG", ("ar", "en"), 2),
    ("ID", ("id", "en"), 3),
    ("PH", ("en",), 3),
    ("CA", ("en", "fr"), 3),
)
BIOS = (
    "Here for good conversations about {a} and {b}.",
    "{a} nerd. Will talk about {b} for hours.",
    "Learning new things every day, lately {a}.",
    "Ask me about {a}. Or {b}. Or anything, really.",
    "Weekend {a}, weekday {b}.",
    "",
)
# Demo accounts only: seed_demo refuses to run with DEBUG off unless --force.
DEMO_PASSWORD = "demo-password-123"
END_REASONS = ("next", "next", "next", "leave", "disconnect")


@dataclass
class SeedSummary:
    users: int = 0
    interests_links: int = 0
    matches: int = 0
    likes: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def _columns(model: type[models.Model], given: Sequence[str]) -> tuple[list[str], list[Any]]:
    """(column names, default for each) covering every concrete column except an auto pk."""
    names, defaults = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and isinstance(f, models.AutoField | models.BigAutoField):
            continue
        names.append(f.attname)
        defaults.append(None if f.attname in given else f.get_default())
    return names, defaults


def copy_rows(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    given: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY dicts (attname -> value) into the model's table; missing attnames get field defaults."""
    names, defaults = _columns(model, given)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(model._meta.get_field(n).column) for n in _fields(model, names)
    )
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(n, d) for n, d in zip(names, defaults, strict=True)])
            count += 1
            if progress and count % 5000 == 0:
                progress(5000)
    if progress:
        progress(count % 5000)
    return count


def _fields(model: type[models.Model], attnames: list[str]) -> list[str]:
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return [by_attname[a] for a in attnames]


def _next_index(prefix: str) -> int:
    """Seeding twice continues the numbering instead of colliding with earlier demo users."""
    user_model = get_user_model()
    last = (
        user_model.objects.filter(username__regex=rf"^{prefix}[0-9]{{6,}}$")
        .order_by("-username")
        .values_list("username", flat=True)
        .first()
    )
    return int(last[len(prefix) :]) + 1 if last else 1


def seed(
    *,
    users: int,
    matches_per_user: float = 3.0,
    like_probability: float = 0.35,
    password: str = DEMO_PASSWORD,
    prefix: str = "demo",
    days: int = 14,
    seed_value: int | None = None,
    progress: Callable[[str, int, int], Callable[[int], None]] | None = None,
) -> SeedSummary:
    """Create ``users`` demo accounts with profiles, interests, match history and likes.

    ``progress(label, total, done_so_far)`` may return a callback that receives increments.
    Runs in one transaction: a failure leaves nothing behind.
    """
    if users < 1:
        raise ValueError("users must be at least 1")
    rng = random.Random(seed_value)
    summary = SeedSummary()
    started = time.perf_counter()
    now = timezone.now()
    user_model = get_user_model()

    def bar(label: str, total: int) -> Callable[[int], None] | None:
        return progress(label, total, 0) if progress else None

    def phase(name: str, t0: float) -> None:
        summary.phases[name] = round(time.perf_counter() - t0, 2)

    with transaction.atomic():
        # --- Accounts: one password hash for all (hashing each would dominate the run).
        t0 = time.perf_counter()
        password_hash = make_password(password)
        first = _next_index(prefix)
        width = max(6, len(str(first + users)))
        usernames = [f"{prefix}{i:0{width}d}" for i in range(first, first + users)]
        joined = [now - dt.timedelta(days=rng.uniform(0, 365)) for _ in usernames]
        copy_rows(
            user_model,
            (
                {
                    "username": name,
                    "password": password_hash,
                    "email": f"{name}@example.com",
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": "",
                    "is_active": True,
                    "is_staff": False,
                    "is_superuser": False,
                    "date_joined": when,
                    "last_login": None,
                }
                for name, when in zip(usernames, joined, strict=True)
            ),
            given=["username", "password", "email", "first_name", "date_joined"],
            progress=bar("users", users),
        )
        id_by_name = dict(
            # Zero-padded names of one width sort as numbers: a range, not a 100,000-item IN list.
            user_model.objects.filter(username__gte=usernames[0], username__lte=usernames[-1])
            .values_list("username", "id")
            .iterator(chunk_size=10_000)
        )
        user_ids = [id_by_name[name] for name in usernames]
        summary.users = len(user_ids)
        phase("users", t0)

        # --- Who is who: country, languages, interests.
        t0 = time.perf_counter()
        weights = [w for _, _, w in COUNTRIES]
        people: list[dict[str, Any]] = []
        for uid, name in zip(user_ids, usernames, strict=True):
            country, langs, _ = rng.choices(COUNTRIES, weights=weights)[0]
            interests = rng.sample(INTERESTS, rng.randint(1, 6))
            people.append(
                {
                    "id": uid,
                    "username": name,
                    "display_name": f"{rng.choice(FIRST_NAMES)} {name[-3:]}",
                    "country": country,
                    "languages": list(langs[: rng.randint(1, len(langs))]),
                    "interests": interests,
                }
            )
        phase("people", t0)

        # --- Match history between seeded users, and likes after some of them.
        t0 = time.perf_counter()
        n_matches = int(users * matches_per_user / 2) if users > 1 else 0
        likes_received: Counter[int] = Counter()
        match_rows: list[dict[str, Any]] = []
        like_rows: list[dict[str, Any]] = []
        for _ in range(n_matches):
            a, b = rng.sample(people, 2)
            started_at = now - dt.timedelta(seconds=rng.uniform(60, days * 86400))
            duration = round(min(rng.expovariate(1 / 150), 3600), 1)
            ended_at = started_at + dt.timedelta(seconds=duration)
            match_id = secrets.token_hex(8)
            common = sorted(set(a["interests"]) & set(b["interests"]))
            ids = (f"u{a['id']}", f"u{b['id']}")
            match_rows.append(
                {
                    "id": match_id,
                    "identity_a": ids[0],
                    "identity_b": ids[1],
                    "user_a_id": a["id"],
                    "user_b_id": b["id"],
                    "name_a": a["display_name"],
                    "name_b": b["display_name"],
                    "common_interests": common,
                    "started_at": started_at,
                    "ended_at": ended_at,
                    "duration_seconds": duration,
                    "ended_by": rng.choice(ids),
                    "end_reason": rng.choice(END_REASONS),
                }
            )
            # Longer talks and shared interests make a like likelier.
            p = like_probability * (1.5 if common else 1.0) * (1.3 if duration > 120 else 0.8)
            for liker, liked in ((a, b), (b, a)):
                if rng.random() < p:
                    like_rows.append(
                        {
                            "match_id": match_id,
                            "liker_identity": f"u{liker['id']}",
                            "liker_user_id": liker["id"],
                            "liked_identity": f"u{liked['id']}",
                            "liked_user_id": liked["id"],
                            "created": ended_at + dt.timedelta(seconds=rng.uniform(1, 30)),
                        }
                    )
                    likes_received[liked["id"]] += 1
        phase("history", t0)

        # --- Profiles (the post_save signal does not run for COPY), with consistent like counts.
        t0 = time.perf_counter()
        copy_rows(
            Profile,
            (
                {
                    "user_id": p["id"],
                    "display_name": p["display_name"],
                    "bio": rng.choice(BIOS).format(a=p["interests"][0], b=p["interests"][-1]),
                    "country": p["country"],
                    "languages": p["languages"],
                    "birth_date": (now - dt.timedelta(days=rng.randint(18 * 366, 60 * 365))).date(),
                    "email_verified": rng.random() < 0.8,
                    "likes_received": likes_received[p["id"]],
                    "karma": 0.0,
                    "last_active": now - dt.timedelta(minutes=rng.expovariate(1 / 2000)),
                    "created": when,
                    "updated": now,
                }
                for p, when in zip(people, joined, strict=True)
            ),
            given=[
                "user_id",
                "display_name",
                "bio",
                "country",
                "languages",
                "birth_date",
                "email_verified",
                "likes_received",
                "karma",
                "last_active",
                "created",
                "updated",
            ],
            progress=bar("profiles", users),
        )
        for name in INTERESTS:
            Interest.objects.get_or_create(name=name)
        interest_id = dict(Interest.objects.filter(name__in=INTERESTS).values_list("name", "id"))
        profile_id = dict(
            Profile.objects.filter(user__username__gte=usernames[0], user__username__lte=usernames[-1])
            .values_list("user_id", "id")
            .iterator(chunk_size=10_000)
        )
        through = Profile.interests.through
        summary.interests_links = copy_rows(
            through,
            (
                {"profile_id": profile_id[p["id"]], "interest_id": interest_id[tag]}
                for p in people
                for tag in p["interests"]
            ),
            given=["profile_id", "interest_id"],
        )
        phase("profiles", t0)

        t0 = time.perf_counter()
        summary.matches = copy_rows(
            Match,
            match_rows,
            given=list(match_rows[0]) if match_rows else [],
            progress=bar("matches", n_matches),
        )
        summary.likes = copy_rows(
            Like,
            like_rows,
            given=list(like_rows[0]) if like_rows else [],
            progress=bar("likes", len(like_rows)),
        )
        phase("history_copy", t0)

    summary.seconds = round(time.perf_counter() - started, 2)
    return summary
