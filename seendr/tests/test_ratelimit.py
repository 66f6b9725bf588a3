"""The limiter against the real Redis: counts, refusals, recovery, atomicity, fail-open."""

from __future__ import annotations

import itertools
import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from django.test import override_settings
from django.urls import path
from hypothesis import given, settings
from hypothesis import strategies as st

from seendr import keys, ratelimit
from seendr.redis_state import state
from seendr.testing.servers import free_port


def limits(**extra: str | None) -> dict:
    return {**django_settings.RATE_LIMITS, **extra}


@ratelimit.rate_limit("t_api")
def api_view(request):
    return JsonResponse({"ok": True})


@ratelimit.rate_limit("t_page")
def page_view(request):
    return HttpResponse("ok")


@ratelimit.rate_limit("t_page")
async def async_view(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/thing/", api_view),
    path("thing/", page_view),
    path("athing/", async_view),
]


@pytest.mark.parametrize(
    ("spec", "count", "period"),
    [("10/5m", 10, 300), ("1/s", 1, 1), ("3/2h", 3, 7200), ("100/1d", 100, 86400), ("2/0.5s", 2, 0.5)],
)
def test_parse(spec, count, period):
    assert ratelimit.parse(spec) == ratelimit.Limit(count=count, period=period)


@pytest.mark.parametrize("spec", ["", "10", "0/1m", "ten/1m", "10/1y", "10/0s", "-1/1m"])
def test_parse_rejects_nonsense(spec):
    with pytest.raises(ImproperlyConfigured):
        ratelimit.parse(spec)


def test_unknown_scope_is_a_programming_error():
    with pytest.raises(ImproperlyConfigured):
        ratelimit.check(scope="no_such_limit", subject="x")


def test_every_default_limit_parses():
    for scope, spec in django_settings.RATE_LIMITS.items():
        assert spec is None or ratelimit.parse(spec).count >= 1, scope


@override_settings(RATE_LIMITS=limits(t="3/30s"))
def test_allows_the_burst_then_refuses_with_whole_seconds_then_recovers():
    now = 1_800_000_000.0
    assert [ratelimit.check(scope="t", subject="a", now=now).allowed for _ in range(3)] == [True] * 3
    refused = ratelimit.check(scope="t", subject="a", now=now)
    assert refused.allowed is False
    assert refused.retry_after == 10  # one token back every 30/3 seconds
    # Another subject has its own budget.
    assert ratelimit.check(scope="t", subject="b", now=now).allowed
    # Still refused just before the token comes back; refusals do not extend the wait.
    late = ratelimit.check(scope="t", subject="a", now=now + 9.5)
    assert late == ratelimit.Decision(allowed=False, retry_after=1, remaining=0)
    assert ratelimit.check(scope="t", subject="a", now=now + 10).allowed
    assert not ratelimit.check(scope="t", subject="a", now=now + 10).allowed
    # After a full window the whole burst is back.
    later = now + 50
    assert [ratelimit.check(scope="t", subject="a", now=later).allowed for _ in range(4)] == [True] * 3 + [
        False
    ]


@override_settings(RATE_LIMITS=limits(t="3/30s"))
def test_key_has_a_ttl_and_is_built_by_the_key_module():
    ratelimit.check(scope="t", subject="alice")
    ttl = state().pttl(keys.rate_limit("t", "alice"))
    assert 0 < ttl <= 10_000


@override_settings(RATE_LIMITS=limits(t="2/1m"))
def test_hostile_subjects_are_hashed_into_bounded_keys():
    subject = "x" * 10_000 + "\n:*"
    assert ratelimit.check(scope="t", subject=subject).allowed
    assert ratelimit.check(scope="t", subject=subject).allowed
    assert not ratelimit.check(scope="t", subject=subject).allowed
    found = list(state().scan_iter(match=keys.rate_limit("t", "*")))
    assert len(found) == 1 and len(found[0]) < 120


@override_settings(RATE_LIMITS=limits(t="25/1m"))
def test_concurrent_callers_never_get_more_than_the_limit():
    now = time.time()

    def hit(_):
        return ratelimit.check(scope="t", subject="same", now=now).allowed

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(hit, range(200)))
    assert results.count(True) == 25


@override_settings(RATE_LIMITS=limits(t=None))
def test_a_limit_set_to_none_is_off():
    assert all(ratelimit.check(scope="t", subject="a").allowed for _ in range(50))


@override_settings(RATE_LIMITS=limits(t="1/1m"))
async def test_async_twin_shares_the_budget():
    now = time.time()
    assert (await ratelimit.acheck(scope="t", subject="a", now=now)).allowed
    refused = await ratelimit.acheck(scope="t", subject="a", now=now)
    assert not refused.allowed and refused.retry_after == 60
    assert ratelimit.error_frame(refused) == {
        "type": "error",
        "code": "rate_limited",
        "message": "Slow down: try again in 60 s.",
        "retry_after": 60,
    }


@pytest.fixture
def closed_breaker():
    ratelimit.breaker.reset()
    yield
    ratelimit.breaker.reset()


def test_fails_open_when_redis_is_down(caplog, closed_breaker):
    dead = f"redis://127.0.0.1:{free_port()}/1"
    state.cache_clear()
    try:
        with override_settings(REDIS_STATE_URL=dead, RATE_LIMITS=limits(t="1/1h")):
            decisions = [ratelimit.check(scope="t", subject="a") for _ in range(3)]
    finally:
        state.cache_clear()
    assert all(d.allowed for d in decisions)
    # One failure opened the breaker: the next calls did not try Redis (one warning, not three).
    assert caplog.text.count("failing open") == 1


def test_a_hanging_redis_costs_one_timeout_not_one_per_request(closed_breaker):
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/1"
        state.cache_clear()
        try:
            with override_settings(
                REDIS_STATE_URL=url, REDIS_SOCKET_TIMEOUT=0.3, RATE_LIMITS=limits(t="1/1h")
            ):
                started = time.monotonic()
                decisions = [ratelimit.check(scope="t", subject="a") for _ in range(20)]
                elapsed = time.monotonic() - started
        finally:
            state.cache_clear()
    assert all(d.allowed for d in decisions)
    # With the breaker one call waits out the 0.3 s timeout; without it all 20 would (6 s). Half
    # of that is the bound: a loaded machine has seconds of slack, a missing breaker none.
    assert elapsed < 10 * 0.3, elapsed
    # The breaker belongs to the dead server: the real one is counted as before at once.
    with override_settings(RATE_LIMITS=limits(t="1/1h")):
        assert ratelimit.check(scope="t", subject="b").allowed
        assert not ratelimit.check(scope="t", subject="b").allowed


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, RATE_LIMITS=limits(t_api="2/1m", t_page="1/2s"))
def test_decorator_answers_429_json_under_api_and_a_page_elsewhere(client):
    assert client.post("/api/thing/").status_code == 200
    assert client.get("/api/thing/").status_code == 200  # GET is not counted by default
    assert client.post("/api/thing/").status_code == 200
    refused = client.post("/api/thing/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    body = refused.json()
    assert body["error"]["code"] == "rate_limited"
    assert "30 seconds" in body["error"]["message"]

    assert client.post("/thing/").status_code == 200
    page = client.post("/thing/")
    assert page.status_code == 429
    assert page["Retry-After"] == "2"
    assert "Try again in 2 seconds" in page.content.decode()
    assert page["Content-Type"].startswith("text/html")
    time.sleep(2.05)
    assert client.post("/thing/").status_code == 200


@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF=__name__, RATE_LIMITS=limits(t_page="1/1m"))
async def test_decorator_wraps_async_views(async_client):
    assert (await async_client.post("/athing/")).status_code == 200
    refused = await async_client.post("/athing/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


@override_settings(TRUSTED_PROXY_HOPS=0)
def test_client_ip_ignores_forwarded_for_unless_proxies_are_trusted(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="10.0.0.1")
    assert ratelimit.client_ip(request) == "10.0.0.1"
    with override_settings(TRUSTED_PROXY_HOPS=1):
        # The client wrote "1.1.1.1"; our proxy appended the address it saw.
        request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 6.6.6.6", REMOTE_ADDR="10.0.0.1")
        assert ratelimit.client_ip(request) == "6.6.6.6"


@pytest.mark.parametrize(
    ("remote", "subject"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_ipv6_clients_are_counted_per_64(rf, remote, subject):
    assert ratelimit.ip_subject(rf.get("/", REMOTE_ADDR=remote)) == subject


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, RATE_LIMITS=limits(t_page="1/1m"))
def test_rotating_through_one_ipv6_64_does_not_help(client):
    assert client.post("/thing/", REMOTE_ADDR="2001:db8::1").status_code == 200
    assert client.post("/thing/", REMOTE_ADDR="2001:db8::2").status_code == 429
    assert client.post("/thing/", REMOTE_ADDR="2001:db8:0:1::1").status_code == 200


# --- The Lua script against a plain model of GCRA -----------------------------------------


def model(times_ms: list[int], count: int, period_ms: int) -> list[tuple[bool, int]]:
    """GCRA as the textbook states it: a request at t conforms if t >= TAT - tau, then TAT grows."""
    interval = period_ms / count
    tat = None
    out = []
    for now in times_ms:
        base = now if tat is None or tat < now else tat
        new_tat = base + interval
        allow_at = new_tat - period_ms
        if now < allow_at:
            out.append((False, max(1, math.ceil(math.ceil(allow_at - now) / 1000))))
        else:
            tat = new_tat
            out.append((True, 0))
    return out


@settings(max_examples=60, deadline=None, database=None)
@given(
    count=st.integers(min_value=1, max_value=8),
    period_s=st.integers(min_value=1, max_value=120),
    gaps=st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=40),
)
def test_the_script_agrees_with_the_model(count, period_s, gaps):
    state().delete(keys.rate_limit("t", "model"))
    start = 1_800_000_000_000
    times = list(itertools.accumulate(gaps, initial=start))[1:]
    with override_settings(RATE_LIMITS=limits(t=f"{count}/{period_s}s")):
        got = [ratelimit.check(scope="t", subject="model", now=t / 1000) for t in times]
    expected = model(times, count, period_s * 1000)
    assert [(d.allowed, d.retry_after) for d in got] == expected
    # Never more than `count` in any window shorter than one interval past a full period.
    allowed = [t for t, d in zip(times, got, strict=True) if d.allowed]
    for i, t in enumerate(allowed):
        assert sum(1 for u in allowed[i:] if u - t < period_s * 1000 / count) <= count
