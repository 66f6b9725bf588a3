"""Fixtures every app's tests share, loaded by the root ``conftest.py`` as a pytest plugin.

Nothing here fakes a service. Each pytest process has its own key prefix and test database
(see ``seendr/settings_test.py``); keys are removed with SCAN after every test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from seendr import keys, pool_shards, redis_state
from seendr.testing.redis_servers import LocalCluster, redis_url, start_redis
from seendr.testing.servers import (
    ROOT,
    ServerProcess,
    celery_worker_command,
    free_port,
    server_env,
    wait_for_port,
    web_command,
)

# --- Opt-in suites ------------------------------------------------------------------------------
# Tests marked ``libretranslate`` talk to a real LibreTranslate server (LIBRETRANSLATE_URL). They
# are deselected, not skipped, unless asked for with --run-libretranslate (`make
# test-libretranslate`); asked for without a server, they fail.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-libretranslate",
        action="store_true",
        help="run the tests against a real LibreTranslate server at LIBRETRANSLATE_URL",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-libretranslate"):
        return
    deselected = [item for item in items if item.get_closest_marker("libretranslate")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("libretranslate")]


def delete_prefixed_keys() -> None:
    pattern = settings.SEENDR_KEY_PREFIX + "*"
    urls = {
        settings.REDIS_CACHE_URL,
        settings.REDIS_STATE_URL,
        *redis_state.url_list(settings.REDIS_CHANNELS_URL),
        settings.CELERY_BROKER_URL,
    }
    channel_prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix")
    for url in urls:
        client = redis_state.client_for_url(url)
        try:
            for pat in filter(None, [pattern, channel_prefix and channel_prefix + "*"]):
                found = list(client.scan_iter(match=pat, count=1000))
                for i in range(0, len(found), 500):
                    client.unlink(*found[i : i + 500])
        finally:
            client.close()


@pytest.fixture(autouse=True)
def _isolated_redis() -> Iterator[None]:
    """Every test starts and ends with none of this run's keys in any Redis role, except the mark
    of a complete (empty) ban mirror: a running site has one, and without it every ban check
    would ask Postgres, which most socket tests do not open. Tests of a lost mirror delete it."""
    delete_prefixed_keys()
    mark_ban_mirror_complete()
    yield
    delete_prefixed_keys()


def mark_ban_mirror_complete() -> None:
    client = redis_state.client_for_url(settings.REDIS_STATE_URL)
    try:
        for shard in pool_shards.names():
            client.set(keys.ban_mirror_ready(shard), "test")
    finally:
        client.close()


@pytest.fixture
def daphne_server(transactional_db, tmp_path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real Daphne processes on free loopback ports, serving this run's database."""
    started: list[ServerProcess] = []

    def start(port: int | None = None, **env: str) -> ServerProcess:
        # Pass ``port`` when the caller must know it first (e.g. to allow its WebSocket origin).
        port = port or free_port()
        log = tmp_path / f"daphne-{port}.log"
        proc = subprocess.Popen(
            web_command(port),
            cwd=ROOT,
            env=server_env(**env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        server = ServerProcess(proc, port, log)
        started.append(server)
        try:
            wait_for_port(port)
        except TimeoutError:
            server.stop()
            raise AssertionError(f"daphne did not start:\n{server.output()}") from None
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path) -> Iterator[Callable[..., ServerProcess]]:
    """Start a real Celery worker process on this run's queue and broker."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        log = tmp_path / f"celery-{len(started)}.log"
        proc = subprocess.Popen(
            celery_worker_command(settings.CELERY_TASK_DEFAULT_QUEUE),
            cwd=ROOT,
            env=server_env(**env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        worker = ServerProcess(proc, None, log)
        started.append(worker)
        worker.wait_for_output("ready.", timeout=30, what="celery worker")
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    """A local Redis Cluster of three masters, started once per test run."""
    cluster = LocalCluster(tmp_path_factory.mktemp("redis-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def state_on_cluster(redis_cluster, settings) -> Iterator[LocalCluster]:
    """For one test, the state role (sync and asyncio clients) is the local Redis Cluster."""
    redis_cluster.flush()
    settings.REDIS_STATE_URL = redis_cluster.url
    redis_state.reset_clients()
    mark_ban_mirror_complete()
    yield redis_cluster
    redis_state.reset_clients()
    redis_cluster.flush()


@pytest.fixture(scope="session")
def channel_layer_shards(tmp_path_factory) -> Iterator[list[str]]:
    """Two separate Redis servers for a sharded channel layer, started once per test run."""
    workdir = tmp_path_factory.mktemp("channel-shards")
    servers: list[ServerProcess] = []
    try:
        for _ in range(2):
            servers.append(start_redis(workdir))
        yield [redis_url(server) for server in servers]
    finally:
        for server in servers:
            server.stop()
