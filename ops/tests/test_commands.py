from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db.models import Count, Sum

from seendr import keys
from seendr.redis_state import state
from seendr.testing.servers import manage

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/1"


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("command", "app"),
    [
        ("matching_stats", "matching"),
        ("sweep_pool", "matching"),
        ("seed_demo", "ops"),
        ("install_beat_schedule", "ops"),
    ],
)
def test_every_ops_command_explains_itself(command, app):
    assert get_commands()[command] == app
    text = load_command_class(app, command).create_parser("manage.py", command).format_help()
    assert text.startswith("usage: manage.py " + command)
    assert len(text.split("\n\n")[1].strip()) > 30  # a real description under the usage line


# --- seed_demo --------------------------------------------------------------------------------


def test_seed_demo_creates_consistent_realistic_users(client):
    from leaderboard.models import Like
    from matching.models import Match
    from profiles.models import Profile

    out, _ = run("seed_demo", "--users", "300", "--seed", "7", "--force", "--no-progress")
    assert out.startswith("Seeded 300 users")
    users = get_user_model().objects.filter(username__startswith="demo")
    assert users.count() == 300
    assert Profile.objects.filter(user__in=users).count() == 300
    profiles = Profile.objects.filter(user__in=users)
    # Everyone has a country, languages and 1..6 interests.
    assert not profiles.filter(country="").exists()
    assert not profiles.filter(languages=[]).exists()
    counts = profiles.annotate(n=Count("interests")).values_list("n", flat=True)
    assert min(counts) >= 1 and max(counts) <= 6
    assert len(set(profiles.values_list("country", flat=True))) > 5
    # History: ~3 matches per user, between seeded users; likes once per liker and match.
    assert Match.objects.count() == 450
    assert not Match.objects.filter(user_a__isnull=True).exists()
    likes = Like.objects.count()
    assert 50 < likes < 900
    assert profiles.aggregate(total=Sum("likes_received"))["total"] == likes
    some = Like.objects.first()
    assert (
        Profile.objects.get(user_id=some.liked_user_id).likes_received
        == Like.objects.filter(liked_user_id=some.liked_user_id).count()
    )
    # The accounts work: log in with the shared password.
    assert client.login(username="demo000001", password="demo-password-123")
    # The leaderboards were rebuilt from what was seeded.
    from leaderboard import services as boards  # noqa: F401 - the app whose keys are checked

    best = state().zrevrange(keys.leaderboard("likes", "all", "all"), 0, 0, withscores=True)
    assert best and best[0][1] == max(profiles.values_list("likes_received", flat=True))


def test_seed_demo_continues_numbering_on_a_second_run():
    run("seed_demo", "--users", "5", "--force", "--no-progress", "--no-leaderboards")
    run("seed_demo", "--users", "5", "--force", "--no-progress", "--no-leaderboards")
    names = sorted(
        get_user_model().objects.filter(username__startswith="demo").values_list("username", flat=True)
    )
    assert names[0] == "demo000001" and names[-1] == "demo000010" and len(names) == 10


def test_seed_demo_refuses_bad_input_and_production():
    with pytest.raises(CommandError, match="--users must be at least 1"):
        run("seed_demo", "--users", "0", "--force")
    with pytest.raises(CommandError, match="DEBUG is off"):
        run("seed_demo", "--users", "5")
    assert not get_user_model().objects.filter(username__startswith="demo").exists()


def test_seed_demo_exit_code_and_progress_bars():
    result = manage("seed_demo", "--users", "-3", "--force")
    assert result.returncode == 1
    assert "CommandError: --users must be at least 1" in result.stderr
    out, err = run("seed_demo", "--users", "20", "--force", "--no-leaderboards")
    assert out.startswith("Seeded 20 users")
    assert "users: 100%" in err and "profiles: 100%" in err and "20/20" in err
