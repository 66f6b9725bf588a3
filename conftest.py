"""Fixtures shared by every app's tests: real Redis clean-up, and real server processes.

Nothing here fakes a service. Each pytest process has its own key prefix and test database
(see ``seendr/settings_test.py``); keys are removed with SCAN after every test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parent


def _delete_prefixed_keys() -> None:
    pattern = settings.SEENDR_KEY_PREFIX + "*"
    urls = {
        settings.REDIS_CACHE_URL,
        settings.REDIS_STATE_URL,
        settings.REDIS_CHANNELS_URL,
        settings.CELERY_BROKER_URL,
    }
    channel_prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix")
    for url in urls:
        client = redis.Redis.from_url(url)
        try:
            for pat in filter(None, [pattern, channel_prefix and channel_prefix + "*"]):
                keys = list(client.scan_iter(match=pat, count=1000))
                for i in range(0, len(keys), 500):
                    client.unlink(*keys[i : i + 500])
        finally:
            client.close()


@pytest.fixture(autouse=True)
def _isolated_redis() -> Iterator[None]:
    """Every test starts and ends with none of this run's keys in any Redis role."""
    _delete_prefixed_keys()
    yield
    _delete_prefixed_keys()


def redis_server_binary() -> str:
    """For tests that must stop and restart a Redis of their own (never the shared one)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import services

    return services.redis_server_binary()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def database_url(db: dict) -> str:
    """A DATABASE_URL for ``db`` that also works when the host is a Unix socket directory."""
    from urllib.parse import quote

    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or ""
    netloc = quote(str(host), safe="") + (f":{db['PORT']}" if db.get("PORT") else "")
    auth = quote(db["USER"] or "", safe="") + ":" + quote(db.get("PASSWORD") or "", safe="")
    return f"postgres://{auth}@{netloc}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that must see this test run's database and keys."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="seendr.settings_test",
        SEENDR_KEY_PREFIX=settings.SEENDR_KEY_PREFIX,
        DATABASE_URL=database_url(db),
        REDIS_CACHE_URL=settings.REDIS_CACHE_URL,
        REDIS_STATE_URL=settings.REDIS_STATE_URL,
        REDIS_CHANNELS_URL=settings.REDIS_CHANNELS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_TASK_DEFAULT_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class ServerProcess:
    def __init__(self, proc: subprocess.Popen, port: int | None, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def kill(self, sig: int = 9) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def daphne_server(transactional_db, tmp_path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real Daphne processes on free loopback ports, serving this run's database."""
    started: list[ServerProcess] = []

    def start(port: int | None = None, **env: str) -> ServerProcess:
        # Pass ``port`` when the caller must know it first (e.g. to allow its WebSocket origin).
        port = port or free_port()
        log = tmp_path / f"daphne-{port}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "seendr.asgi:application"],
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
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "seendr",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=server_env(**env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        worker = ServerProcess(proc, None, log)
        started.append(worker)
        deadline = time.monotonic() + 30
        while "ready." not in worker.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                worker.stop()
                raise AssertionError(f"celery worker did not start:\n{worker.output()}")
            time.sleep(0.1)
        return worker

    yield start
    for worker in started:
        worker.stop()
