import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from django.test import override_settings

from seendr.health import CHECK_TIMEOUT_SECONDS
from seendr.testing.servers import free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["down"] == []


def test_readyz_names_a_dead_redis_role(client):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(REDIS_STATE_URL=dead):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis_state"]


def test_landing_page_offers_guest_form_and_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/guest/"' in html
    assert 'name="adult"' in html
    assert 'data-testid="online-count"' in html


@pytest.mark.parametrize(
    ("setting", "check"),
    [
        ("REDIS_CACHE_URL", "redis_cache"),
        ("REDIS_STATE_URL", "redis_state"),
        ("REDIS_CHANNELS_URL", "redis_channels"),
        ("CELERY_BROKER_URL", "broker"),
    ],
)
def test_readyz_names_each_dead_redis_role_alone(client, setting, check):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(**{setting: dead}):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == [check]
    assert body["checks"][check] is False
    assert all(ok for name, ok in body["checks"].items() if name != check)


def test_readyz_answers_quickly_when_redis_hangs(client):
    """A server that accepts connections but never answers costs one short timeout, even on all
    four roles at once (they are checked in parallel)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes handshakes; nobody ever reads or answers
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        with override_settings(
            REDIS_CACHE_URL=url, REDIS_STATE_URL=url, REDIS_CHANNELS_URL=url, CELERY_BROKER_URL=url
        ):
            response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["down"] == ["broker", "redis_cache", "redis_channels", "redis_state"]
    # One hung check costs CHECK_TIMEOUT_SECONDS; four in a row would cost at least four times
    # that, so this fails for a serial check however fast the machine, and a loaded machine has
    # three timeouts of slack.
    assert elapsed < 4 * CHECK_TIMEOUT_SECONDS, elapsed


def test_readyz_names_a_dead_postgres_in_a_real_server(daphne_server):
    """A separate Daphne whose DATABASE_URL points at a dead port: only Postgres is down."""
    server = daphne_server(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/seendr")
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "/readyz", timeout=10)
    assert err.value.code == 503
    body = json.loads(err.value.read())
    assert body["down"] == ["postgres"]
    assert body["status"] == "unavailable"


def test_readyz_is_ready_in_a_real_server(daphne_server):
    server = daphne_server()
    with urllib.request.urlopen(server.url + "/readyz", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["down"] == []


def test_probes_accept_head_and_refuse_writes(client):
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_probes_skip_the_https_redirect_that_pages_get(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    with override_settings(METRICS_TOKEN="t0ken-for-this-test"):
        assert (
            client.get("/metrics", headers={"Authorization": "Bearer t0ken-for-this-test"}).status_code == 200
        )
