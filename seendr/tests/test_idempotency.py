"""Idempotency-Key against the real Redis: replay, in-flight duplicates, scoping, bad keys."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import JsonResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from leaderboard.models import Like
from matching.models import EndReason, Match
from moderation.models import Report
from seendr import keys
from seendr.idempotency import idempotent
from seendr.identity import user_identity_id
from seendr.redis_state import state
from seendr.testing.redis_servers import redis_url, start_redis
from seendr.testing.servers import free_port

COUNTER = "idem-test-counter"


def caller(request):
    return request.headers.get("X-Test-User")


def make_view(*, status: int = 201, delay: float = 0.0):
    @idempotent("test", subject=caller)
    def view(request, thing_id: str):
        if delay:
            time.sleep(delay)
        n = state().incr(keys.prefix() + COUNTER)
        return JsonResponse({"created": thing_id, "n": n}, status=status)

    return view


def post(view, *, key: str | None, user: str = "u1", body: bytes = b'{"x":1}', path: str = "/api/things/7/"):
    headers = {"HTTP_X_TEST_USER": user}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    request = RequestFactory().post(path, data=body, content_type="application/json", **headers)
    return view(request, thing_id="7")


def body(response) -> dict:
    return json.loads(response.content)


def executions() -> int:
    return int(state().get(keys.prefix() + COUNTER) or 0)


def test_first_answer_is_replayed_for_24_hours():
    view = make_view()
    first = post(view, key="abc-123")
    again = post(view, key="abc-123")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert executions() == 1
    ttl = state().ttl(keys.idempotency("test", "u1:abc-123"))
    assert 86_000 < ttl <= 86_400


def test_without_a_key_every_request_runs():
    view = make_view()
    post(view, key=None)
    post(view, key=None)
    assert executions() == 2


def test_keys_are_scoped_per_caller():
    view = make_view()
    post(view, key="same", user="u1")
    other = post(view, key="same", user="u2")
    assert "Idempotent-Replayed" not in other
    assert executions() == 2


def test_same_key_for_another_request_is_refused():
    view = make_view()
    post(view, key="k1")
    reused = post(view, key="k1", body=b'{"x":2}')
    assert reused.status_code == 422
    assert body(reused)["error"]["code"] == "idempotency_key_reused"
    assert executions() == 1


@pytest.mark.parametrize("bad", ["", "a" * 129, "has space", "semi;colon", "ümlaut", "new\nline"])
def test_malformed_keys_are_refused_before_running(bad):
    view = make_view()
    response = post(view, key=bad)
    assert response.status_code == 400
    assert body(response)["error"]["code"] == "invalid_idempotency_key"
    assert executions() == 0


def test_retryable_answers_are_not_stored():
    view = make_view(status=429)
    post(view, key="k2")
    post(view, key="k2")
    assert executions() == 2
    assert state().get(keys.idempotency("test", "u1:k2")) is None


def test_an_exception_frees_the_key():
    calls = []

    @idempotent("test", subject=caller)
    def flaky(request, thing_id):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return JsonResponse({"ok": True}, status=201)

    with pytest.raises(RuntimeError):
        post(flaky, key="k3")
    assert post(flaky, key="k3").status_code == 201
    assert len(calls) == 2


def test_concurrent_duplicates_run_once_and_the_rest_get_409():
    view = make_view(delay=0.3)
    barrier = threading.Barrier(8)
    # The race is between the duplicates, not eight threads building the client (on a Cluster,
    # eight slot-map discoveries) at once: the client exists before they start, as in a server.
    assert executions() == 0

    def go(_):
        barrier.wait()
        return post(view, key="race-1")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(go, range(8)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7
    assert executions() == 1
    busy = next(r for r in responses if r.status_code == 409)
    assert body(busy)["error"]["code"] == "idempotency_in_progress"
    assert busy["Retry-After"] == "1"
    # Once the first finished, duplicates get its answer.
    replay = post(view, key="race-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert executions() == 1


# --- A slow state Redis ----------------------------------------------------------------------


@pytest.fixture
def slow_state_redis(settings, tmp_path):
    """The state role on a private server whose writes can be held back with ``CLIENT PAUSE``
    (the shared server must never be paused), with a short client timeout."""
    server = start_redis(tmp_path / "slow")
    settings.REDIS_STATE_URL = redis_url(server)
    settings.REDIS_SOCKET_TIMEOUT = 0.4
    state.cache_clear()
    try:
        yield redis.Redis.from_url(redis_url(server))
    finally:
        state.cache_clear()
        server.stop()


def test_a_claim_that_times_out_is_retried_and_still_guards_the_key(slow_state_redis):
    """Writes paused longer than one client timeout but shorter than two: the first SET NX times
    out, the retry claims the key, so the view runs once under the guard and its answer is
    stored (without the retry the view ran unguarded and a duplicate ran it again)."""
    view = make_view()
    slow_state_redis.execute_command("CLIENT", "PAUSE", "600", "WRITE")
    first = post(view, key="slow-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(view, key="slow-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert executions() == 1


# --- The state Redis down -------------------------------------------------------------------


@pytest.fixture
def state_redis_down(settings):
    """The state role pointed at a loopback port nothing listens on: every command fails to
    connect, as when that server is gone."""
    settings.REDIS_STATE_URL = f"redis://127.0.0.1:{free_port()}/0"
    state.cache_clear()
    yield
    state.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_with_the_state_redis_down_duplicates_still_write_once(state_redis_down):
    """No replay guard without Redis (docs: the view runs, logged), yet concurrent retries of
    one report and one like each leave exactly one row: PostgreSQL's constraints hold the line,
    and nobody gets a 5xx."""
    users = get_user_model().objects
    ann = users.create_user(username="ann", password="pw-12345-long")
    bo = users.create_user(username="bo", password="pw-12345-long")
    now = timezone.now()
    match = Match.objects.create(
        id="idemdown01",
        identity_a=user_identity_id(ann.pk),
        identity_b=user_identity_id(bo.pk),
        user_a=ann,
        user_b=bo,
        name_a="ann",
        name_b="bo",
        started_at=now - timezone.timedelta(minutes=2),
        ended_at=now,
        duration_seconds=120,
        ended_by=user_identity_id(ann.pk),
        end_reason=EndReason.NEXT,
    )
    retries = 4
    barrier = threading.Barrier(retries)

    def send(path: str, payload: dict, key: str):
        client = Client()
        client.force_login(ann)
        barrier.wait()
        try:
            return client.post(path, payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        finally:
            connection.close()

    for path, payload, key in (
        (f"/api/matches/{match.id}/report/", {"reason": "spam"}, "report-once"),
        (f"/api/matches/{match.id}/like/", {}, "like-once"),
    ):
        with ThreadPoolExecutor(max_workers=retries) as pool:
            answers = list(pool.map(send, [path] * retries, [payload] * retries, [key] * retries))
        assert [a.status_code for a in answers if a.status_code >= 300] == [], [
            (a.status_code, a.content[:200]) for a in answers
        ]
        assert not any(a.has_header("Idempotent-Replayed") for a in answers)
    assert Report.objects.filter(match_id=match.id).count() == 1
    assert Like.objects.filter(match_id=match.id).count() == 1


@pytest.mark.django_db
def test_a_multipart_post_with_a_key_is_answered_and_replayed(django_capture_on_commit_callbacks):
    """A form post (multipart) with Idempotency-Key: CSRF reads the form first, so the raw body
    is gone by the time the key is checked. The fingerprint must come from the parsed form."""
    from django.conf import settings
    from django.test import Client

    from moderation.models import Report
    from moderation.tests.helpers import live_match, make_user
    from seendr.identity import for_user

    alice_user = make_user("alice")
    match_id = live_match(for_user(alice_user), for_user(make_user("bob")))
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = "A" * 32
    client.force_login(alice_user)

    def report(reason: str):
        return client.post(
            f"/api/matches/{match_id}/report/",
            data={"reason": reason, "note": "form post", "csrfmiddlewaretoken": "A" * 32},
            headers={"Idempotency-Key": "form-1"},
        )

    with django_capture_on_commit_callbacks(execute=True):
        first = report("spam")
    assert first.status_code == 201, first.content
    again = report("spam")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert report("nudity").status_code == 422  # same key, another form: refused
    assert Report.objects.count() == 1
