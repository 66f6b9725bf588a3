"""Real server processes for tests: free ports, the environment a child needs to share this
run's database and keys, and a handle to stop a process and read its log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def redis_server_binary() -> str:
    """For tests that must stop and restart a Redis of their own (never the shared one)."""
    # scripts/ is not a package (it runs before the virtualenv exists); load its helper by path.
    sys.path.insert(0, str(ROOT / "scripts"))
    import services

    return services.redis_server_binary()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_command(port: int) -> list[str]:
    """A web process as the app runs it (``seendr.serve``: Daphne on uvloop) on a loopback port."""
    return [
        sys.executable,
        "-m",
        "seendr.serve",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "seendr.asgi:application",
    ]


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

    def wait_for_output(self, marker: str, *, timeout: float, what: str, poll: float = 0.1) -> None:
        """Wait until the log shows ``marker``; if the process exits or ``timeout`` passes first,
        stop it and fail with its log."""
        deadline = time.monotonic() + timeout
        while marker not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{what} did not start:\n{self.output()}")
            time.sleep(poll)


def celery_worker_command(queue: str, *extra: str) -> list[str]:
    """argv of a real Celery worker on ``queue``: one process, no cluster chatter between workers."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "seendr",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        *extra,
    ]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a child process against this run's database and keys."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=server_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
