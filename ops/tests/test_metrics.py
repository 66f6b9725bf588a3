import io
import json
import logging
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter

from matching import stats as match_stats
from matching.types import Preferences
from ops.services import record_task_outcome
from seendr import keys
from seendr import metrics as process_metrics
from seendr.redis_state import state
from seendr.request_id import ConnectionIdMiddleware, RequestContextFilter
from seendr.testing import poolsync
from seendr.testing.factories import make_match
from seendr.testing.servers import ROOT

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    """GET /metrics with the token; {metric sample name: {sorted label items: value}}."""
    with override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=[]):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


# --- Access -----------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_or_network(client):
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[]):
        assert client.get("/metrics").status_code == 404


def test_metrics_need_the_right_bearer_token(client):
    with override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=[]):
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_allow_listed_networks_by_peer_address(client):
    # The test client's peer address is 127.0.0.1.
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"]):
        assert client.get("/metrics").status_code == 403
        # A forwarded header is no way in: only the real peer counts.
        assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 403
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        assert client.get("/metrics").status_code == 200


# --- Process-local metrics --------------------------------------------------------------------


def test_request_latency_is_labelled_by_route_name_not_path(client):
    labels = (("method", "GET"), ("route", "healthz"), ("status", "200"))
    before = scrape(client).get("seendr_http_request_duration_seconds_count", {}).get(labels, 0)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no-such-page-1")
    client.get("/no-such-page-2")
    samples = scrape(client)
    counts = samples["seendr_http_request_duration_seconds_count"]
    assert counts[labels] == before + 3
    routes = {dict(label)["route"] for label in counts}
    assert "unmatched" in routes
    assert not any("no-such-page" in route for route in routes)


def test_rate_limit_refusals_are_counted_by_scope(client):
    from seendr import ratelimit

    labels = (("scope", "ops_probe"),)
    before = scrape(client).get("seendr_rate_limited_total", {}).get(labels, 0)
    with override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "ops_probe": "2/1m"}):
        decisions = [ratelimit.check(scope="ops_probe", subject="u1", now=1000.0) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, False, False, False]
    assert scrape(client)["seendr_rate_limited_total"][labels] == before + 3


class EchoConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        logging.getLogger("seendr.tests.echo").warning("echo")
        await self.send_json({"connection_id": self.scope.get("connection_id")})


async def test_websocket_gauge_and_connection_id_follow_a_real_socket():
    app = ConnectionIdMiddleware(process_metrics.WebSocketMetricsMiddleware(EchoConsumer.as_asgi()))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(logging.Formatter("%(connection_id)s %(message)s"))
    logger = logging.getLogger("seendr.tests.echo")
    logger.addHandler(handler)
    before = process_metrics.WEBSOCKET_CONNECTIONS._value.get()
    try:
        first = WebsocketCommunicator(app, "/ws/chat/")
        second = WebsocketCommunicator(app, "/ws/chat/")
        assert (await first.connect())[0]
        assert (await second.connect())[0]
        assert process_metrics.WEBSOCKET_CONNECTIONS._value.get() == before + 2
        await first.send_json_to({"type": "ping"})
        reply = await first.receive_json_from()
        await first.disconnect()
        assert process_metrics.WEBSOCKET_CONNECTIONS._value.get() == before + 1
        await second.disconnect()
        assert process_metrics.WEBSOCKET_CONNECTIONS._value.get() == before
    finally:
        logger.removeHandler(handler)
    assert len(reply["connection_id"]) == 16
    assert stream.getvalue().strip() == f"{reply['connection_id']} echo"


# --- Request ids and logs ---------------------------------------------------------------------


def test_request_id_is_echoed_or_made(client):
    given = "abc12345-trace"
    assert client.get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"] == given
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    # Junk (too long, or characters that could forge log lines) is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": "x" * 200})["X-Request-ID"]
    assert forged != "x" * 200 and len(forged) == 32


def test_log_lines_of_a_request_carry_its_id_as_json(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter(settings.LOGGING["formatters"]["json"]["fmt"]))
    logger = logging.getLogger("seendr.health")
    logger.addHandler(handler)
    try:
        dead = "redis://127.0.0.1:1/0"
        with override_settings(REDIS_STATE_URL=dead):
            response = client.get("/readyz", headers={"X-Request-ID": "req-0001-abcd"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 503
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "readyz logged nothing about the dead Redis"
    assert all(line["request_id"] == "req-0001-abcd" for line in lines)
    assert "redis" in lines[0]["message"]
    assert lines[0]["levelname"] == "WARNING"


def test_production_logging_is_json_and_development_is_plain():
    code = (
        "import django, logging; django.setup(); logging.getLogger('seendr.probe').warning('hello %s', 'ops')"
    )
    base = {
        "DJANGO_SETTINGS_MODULE": "seendr.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "PATH": "/usr/bin:/bin",
    }
    prod = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "LOG_JSON": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    record = json.loads(prod.stderr.strip().splitlines()[-1])
    assert record["message"] == "hello ops"
    assert record["name"] == "seendr.probe"
    assert record["request_id"] == "-"
    dev = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "LOG_JSON": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "WARNING seendr.probe [- -]: hello ops" in dev.stderr


# --- Shared state read at scrape time ---------------------------------------------------------


def test_pool_matches_and_time_to_match_come_from_real_matches(client):
    now = time.time()
    make_match(waited=2.5, now=now)
    make_match(waited=0.2, now=now, interest="chess")
    prefs = Preferences.from_client(interests=["knitting"])
    assert poolsync.join(identity_id="glonely000001", prefs=prefs, channel_name="chan.l", now=now) is None

    samples = scrape(client)
    assert samples["seendr_matches_total"][()] == 2
    assert samples["seendr_pool_waiting"][()] == 1
    assert samples["seendr_in_call"][()] == 4
    # Four sides waited 2.5, 0, 0.2 and 0 seconds.
    assert samples["seendr_time_to_match_seconds_count"][()] == 4
    assert samples["seendr_time_to_match_seconds_sum"][()] == pytest.approx(2.7)
    buckets = samples["seendr_time_to_match_seconds_bucket"]
    assert buckets[(("le", "0.5"),)] == 3
    assert buckets[(("le", "2.0"),)] == 3
    assert buckets[(("le", "3.0"),)] == 4
    assert buckets[(("le", "+Inf"),)] == 4
    assert all(v == 1 for v in samples["seendr_scrape_source_up"].values())


def test_match_totals_stay_monotonic_while_minutes_fold_and_expire():
    """Counters must only grow: minutes folded into the totals count once, even after the
    per-minute keys expire."""
    start = (time.time() // 60) * 60
    make_match(waited=1.0, now=start + 5)
    first = match_stats.match_totals(now=start + 10)
    assert (first.matches, first.waits) == (1, 2)
    make_match(waited=4.0, now=start + 65, interest="chess")
    # Three minutes later both minutes are folded into the totals...
    folded = match_stats.match_totals(now=start + 200)
    assert (folded.matches, folded.waits) == (2, 4)
    again = match_stats.match_totals(now=start + 201)
    assert again == folded
    # ...so losing the per-minute keys loses nothing.
    client = state()
    for m in (int(start // 60), int(start // 60) + 1):
        client.delete(keys.match_waits_per_minute(m))
    later = match_stats.match_totals(now=start + 260)
    assert (later.matches, later.waits, later.wait_sum) == (2, 4, pytest.approx(5.0))


def test_profile_cache_hits_and_misses_are_exposed(client):
    user = get_user_model().objects.create_user("cachy", password="pw-123456789")
    from profiles import cache

    before = scrape(client).get("seendr_profile_cache_lookups_total", {})
    # Three reads: on a Redis that has just started, the first fill may only load the script.
    for _ in range(3):
        assert cache.get_by_username(user.username) is not None
    after = scrape(client)["seendr_profile_cache_lookups_total"]
    hits = after[(("result", "hit"),)] - before.get((("result", "hit"),), 0)
    misses = after[(("result", "miss"),)] - before.get((("result", "miss"),), 0)
    assert hits >= 1 and misses >= 1


def test_celery_outcomes_and_queue_depth_are_exposed(client):
    record_task_outcome(task="ops.tasks.sweep_pool_task", outcome="success")
    record_task_outcome(task="ops.tasks.sweep_pool_task", outcome="success")
    record_task_outcome(task="ops.tasks.send_moderation_summary_task", outcome="failure", error="SMTP down")
    samples = scrape(client)
    tasks = samples["seendr_celery_tasks_total"]
    assert tasks[(("outcome", "success"), ("task", "ops.tasks.sweep_pool_task"))] == 2
    assert tasks[(("outcome", "failure"), ("task", "ops.tasks.send_moderation_summary_task"))] == 1
    assert samples["seendr_celery_queue_length"][()] == 0
    assert samples["seendr_redis_used_memory_bytes"][(("role", "state"),)] > 0


def test_a_dead_redis_role_is_flagged_not_a_500(client):
    dead = "redis://127.0.0.1:1/0"
    with override_settings(REDIS_CACHE_URL=dead):
        samples = scrape(client)
    up = samples["seendr_scrape_source_up"]
    assert up[(("source", "redis_cache"),)] == 0
    assert up[(("source", "redis_state"),)] == 1


def _scrape_url(url: str) -> dict[str, dict[tuple, float]]:
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_a_real_chat_socket_moves_the_gauge_of_its_own_server(daphne_server):
    """seendr.asgi wires the gauge around the real consumer; each replica counts its own sockets."""
    import asyncio

    import websockets
    from django.contrib.sessions.backends.cached_db import SessionStore

    from accounts import guests
    from seendr.identity import GUEST_SESSION_KEY

    identity = guests.create_guest(ip="127.0.0.1")
    store = SessionStore()
    store[GUEST_SESSION_KEY] = identity.id
    store.create()
    one, other = daphne_server(METRICS_TOKEN=TOKEN), daphne_server(METRICS_TOKEN=TOKEN)
    gauge = "seendr_websocket_connections"

    async def scenario() -> tuple[float, float, float]:
        headers = {
            "Origin": "http://testserver",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}",
        }
        async with websockets.connect(one.ws_url + "/ws/chat/", additional_headers=headers) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
            during = (await asyncio.to_thread(_scrape_url, one.url))[gauge][()]
            elsewhere = (await asyncio.to_thread(_scrape_url, other.url))[gauge][()]
        for _ in range(50):  # the server notices the close a moment later
            after = (await asyncio.to_thread(_scrape_url, one.url))[gauge][()]
            if after == 0:
                break
            await asyncio.sleep(0.1)
        return during, elsewhere, after

    during, elsewhere, after = asyncio.run(scenario())
    assert (during, elsewhere, after) == (1, 0, 0)
