from django.utils import timezone

from leaderboard import boards
from seendr import keys
from seendr.redis_state import state

EVIL = '<script>alert("x")</script><img src=x onerror="window.__xss=1">'


def put(board_name: str, period: str, scores: dict[int, int]) -> None:
    key = keys.leaderboard(board_name, period, boards.bucket_for(period, timezone.now()).name)
    state().zadd(key, {boards.member(uid): score for uid, score in scores.items()})


def test_page_shows_tabs_rows_and_your_rank(make_user, client):
    alice, bob = make_user("alice", display_name="Alice"), make_user("bob", display_name="Bob")
    put("talk_time", "week", {alice.pk: 3725, bob.pk: 59})
    client.force_login(bob)
    response = client.get("/leaderboard/?board=talk_time&period=week")
    assert response.status_code == 200
    html = response.content.decode()
    for hook in (
        "board-tab-likes",
        "board-tab-talk_time",
        "period-tab-day",
        "period-tab-week",
        "period-tab-all",
    ):
        assert f'data-testid="{hook}"' in html
    assert 'data-testid="leaderboard-table"' in html
    assert html.count('data-testid="leaderboard-row"') == 2
    assert "1h 02m" in html and "59s" in html
    assert "You are <strong>#2</strong>" in html
    assert 'src="/static/js/leaderboard.js"' in html
    assert "<script>" not in html.split("</main>")[0]  # no inline script in the page body


def test_guests_and_visitors_are_told_they_are_not_ranked(db, client):
    html = client.get("/leaderboard/").content.decode()
    assert "Guests are not ranked" in html
    assert "Nobody here yet" in html


def test_bad_tab_parameters_fall_back_to_defaults(db, client):
    response = client.get("/leaderboard/?board=<x>&period=forever")
    assert response.status_code == 200
    assert 'data-board="likes"' in response.content.decode()
    assert 'data-period="day"' in response.content.decode()


def test_display_names_are_escaped(make_user, client):
    mallory = make_user("mallory", display_name=EVIL[:50])
    put("likes", "day", {mallory.pk: 4})
    html = client.get("/leaderboard/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")' not in html
    assert "<img src=x" not in html
