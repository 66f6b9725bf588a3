import random

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from leaderboard import boards, selectors
from profiles.models import Profile
from seendr import keys
from seendr.redis_state import state

N_USERS = 10_000


def bulk_users(count: int) -> dict[int, str]:
    """Real accounts with profiles (bulk inserts: the post_save signal is not needed)."""
    User = get_user_model()
    User.objects.bulk_create(
        [User(username=f"lbu{i:05d}", password="!") for i in range(count)], batch_size=2000
    )
    users = list(User.objects.filter(username__startswith="lbu").values_list("pk", "username"))
    Profile.objects.bulk_create(
        [Profile(user_id=pk, display_name=f"Player {name[3:]}") for pk, name in users], batch_size=2000
    )
    return dict(users)


@pytest.fixture
def ten_thousand_users(db):
    return bulk_users(N_USERS)


def brute_force(scores: dict[int, int]) -> list[tuple[int, int]]:
    """The documented order: highest score first, equal scores by higher user id first."""
    return sorted(scores.items(), key=lambda item: (-item[1], -item[0]))


def test_top_and_my_rank_match_a_brute_force_ranking_of_10000_users(ten_thousand_users):
    now = timezone.now()
    rng = random.Random(20261126)
    # Few distinct scores, so ties are everywhere and their order is really tested.
    scores = {pk: rng.randint(1, 40) for pk in ten_thousand_users}
    key = keys.leaderboard("likes", "week", boards.bucket_for("week", now).name)
    pipe = state().pipeline(transaction=False)
    items = list(scores.items())
    for i in range(0, len(items), 1000):
        pipe.zadd(key, {boards.member(pk): score for pk, score in items[i : i + 1000]})
    pipe.execute()
    expected = brute_force(scores)
    rank_of = {pk: position + 1 for position, (pk, _) in enumerate(expected)}

    edges = [expected[0][0], expected[-1][0], expected[99][0], expected[100][0]]
    viewers = [*rng.sample(sorted(scores), 25), *edges]
    for viewer in viewers:
        result = selectors.top(board="likes", period="week", now=now, limit=100, viewer_user_id=viewer)
        assert [(e["rank"], e["username"], e["score"]) for e in result["entries"]] == [
            (position + 1, ten_thousand_users[pk], score)
            for position, (pk, score) in enumerate(expected[:100])
        ]
        me = result["me"]
        assert (me["rank"], me["score"], me["username"]) == (
            rank_of[viewer],
            scores[viewer],
            ten_thousand_users[viewer],
        )
        first = max(rank_of[viewer] - 1 - selectors.WINDOW_RADIUS, 0)
        window = expected[first : rank_of[viewer] + selectors.WINDOW_RADIUS]
        assert [(e["rank"], e["username"], e["score"]) for e in me["around"]] == [
            (first + offset + 1, ten_thousand_users[pk], score) for offset, (pk, score) in enumerate(window)
        ]
    assert result["entries"][0]["display_name"].startswith("Player ")


def test_limit_is_capped_and_unknown_viewers_are_unranked(db):
    users = bulk_users(301)
    now = timezone.now()
    key = keys.leaderboard("talk_time", "all", "all")
    ids = sorted(users)[:300]
    state().zadd(key, {boards.member(pk): 10 + i for i, pk in enumerate(ids)})
    result = selectors.top(
        board="talk_time", period="all", now=now, limit=10_000, viewer_user_id=sorted(users)[-1]
    )
    assert len(result["entries"]) == boards.MAX_LIMIT
    assert result["me"]["rank"] is None and result["me"]["score"] == 0 and result["me"]["around"] == []
    assert selectors.top(board="talk_time", period="all", now=now, limit=5)["me"] is None


def test_ties_rank_the_newer_account_first(db):
    User = get_user_model()
    older, newer = User.objects.create_user("older"), User.objects.create_user("newer")
    assert newer.pk > older.pk
    now = timezone.now()
    state().zadd(
        keys.leaderboard("likes", "all", "all"), {boards.member(older.pk): 3, boards.member(newer.pk): 3}
    )
    entries = selectors.top(board="likes", period="all", now=now)["entries"]
    assert [(e["rank"], e["username"]) for e in entries] == [(1, "newer"), (2, "older")]


def test_an_empty_board_reads_as_empty(db):
    assert selectors.top(board="likes", period="day", now=timezone.now()) == {
        "board": "likes",
        "period": "day",
        "entries": [],
        "me": None,
    }
