"""A whole Seendr stack of its own for fault injection: Redis, PostgreSQL, Daphne, Celery.

The fault tests stop, kill and restart servers, so they never touch the machine's shared
PostgreSQL and Redis that the rest of the suite uses. This module starts, on loopback and free
ports, in a temporary directory:

* a ``redis-server`` (the binary on PATH, else the embedded Valkey of ``requirements-embedded.txt``), without
  persistence, so a restart loses everything, as the worst case should;
* a PostgreSQL cluster made with ``initdb`` and run with ``pg_ctl`` (the system's binaries,
  under ``/usr/lib/postgresql/*/bin``; as root they run as the ``postgres`` user), else the
  server the ``pgserver`` package ships;
* Daphne and Celery processes pointed at them (``seendr.settings_test``, their own key prefix).

Plus small synchronous HTTP and asyncio WebSocket clients that act like a browser (cookies,
CSRF, Origin).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from seendr.testing.servers import ServerProcess, celery_worker_command, free_port, web_command

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://127.0.0.1:8000"  # an origin settings_test allows for the chat socket


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


# --- Redis ----------------------------------------------------------------------------------------


def redis_binary() -> str:
    from seendr.testing.servers import redis_server_binary

    return redis_server_binary()


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redis_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--databases",
                "16",
            ],
            stdout=(self.dir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: port_open(self.port), 10, what="redis-server listening")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # like a crash: nothing saved
            self.proc.wait(timeout=10)
        wait_until(lambda: not port_open(self.port), 10, what="redis-server gone")

    def running(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)

    def client(self, db: int = 1):
        import redis

        return redis.Redis.from_url(self.url(db), decode_responses=True, socket_timeout=5)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _pg_bindir() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


class PostgresServer:
    """A throw-away cluster. ``stop()`` is an immediate shutdown (like a crash), ``start()`` again."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "pg"
        self.port = free_port()
        self.bindir = _pg_bindir()
        self._pgserver = None
        self._as_user: list[str] = []
        if self.bindir and os.geteuid() == 0:
            # initdb refuses to run as root.
            user = "postgres"
            pwd.getpwnam(user)
            self._as_user = ["runuser", "-u", user, "--"]
            self._uid = pwd.getpwnam(user).pw_uid
            self._gid = pwd.getpwnam(user).pw_gid

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/seendr"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if not self.bindir:
            raise RuntimeError("no PostgreSQL binaries (initdb) found")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self._as_user:
            os.chmod(self.dir.parent, 0o755)
            os.chown(self.dir, self._uid, self._gid)
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        self.start()
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE seendr")

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/seendr"

    def start(self) -> None:
        # fsync off is safe here: only the server process is crashed, never the machine. Commits
        # stay synchronous, so a committed row survives an immediate shutdown, as in production.
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-o",
            opts,
            "-l",
            str(self.dir / "pg.log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


# --- The stack --------------------------------------------------------------------------------------


class Proc(ServerProcess):
    """A Seendr process of the stack (the suite's ServerProcess, named; ws_url is the chat socket)."""

    def __init__(self, name: str, proc: subprocess.Popen, log: Path, port: int | None = None) -> None:
        super().__init__(proc, port, log)
        self.name = name

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Stack:
    workdir: Path
    redis: RedisServer
    pg: PostgresServer
    prefix: str
    procs: list[Proc] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="seendr.settings_test",
            SECRET_KEY="faults-only-secret-key-not-for-production-0123456789",
            SEENDR_KEY_PREFIX=self.prefix,
            DATABASE_URL=self.pg.url,
            DATABASE_CONNECT_TIMEOUT="2",
            REDIS_CACHE_URL=self.redis.url(0),
            REDIS_STATE_URL=self.redis.url(1),
            REDIS_CHANNELS_URL=self.redis.url(2),
            CELERY_BROKER_URL=self.redis.url(3),
            CELERY_TASK_DEFAULT_QUEUE="faults",
            LOG_JSON="0",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            # These tests log many people in from one address; rate limits are tested elsewhere.
            RATE_LIMIT_LOGIN_IP="10000/1m",
            RATE_LIMIT_LOGIN_USER="10000/1m",
            RATE_LIMIT_GUEST_IP="10000/1m",
            # ...and hold dozens of chat sockets from it, reconnecting after each fault.
            CHAT_SOCKETS_PER_NETWORK="10000",
            RATE_LIMIT_WS_CONNECT="10000/1m",
        )
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def shell(self, code: str, timeout: float = 120, **env: str) -> str:
        """Run Python with Django set up against this stack; returns stdout (raises on failure)."""
        prog = "import django; django.setup()\n" + code
        done = subprocess.run(
            [sys.executable, "-c", prog],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"shell failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def daphne(self, **env: str) -> Proc:
        port = free_port()
        log = self.workdir / f"daphne-{port}.log"
        proc = subprocess.Popen(
            web_command(port),
            cwd=ROOT,
            env=self.env(**env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        p = Proc(f"daphne-{port}", proc, log, port)
        self.procs.append(p)
        try:
            wait_until(lambda: port_open(port) or not p.alive(), 30, what="daphne listening")
        except TimeoutError:
            p.stop()
            raise
        if not p.alive():
            raise RuntimeError(f"daphne exited:\n{p.output()}")
        return p

    def celery(self, **env: str) -> Proc:
        n = sum(1 for p in self.procs if p.name.startswith("celery"))
        log = self.workdir / f"celery-{n}.log"
        proc = subprocess.Popen(
            celery_worker_command("faults", "-n", f"faults{n}@%h"),
            cwd=ROOT,
            env=self.env(**env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        p = Proc(f"celery-{n}", proc, log)
        self.procs.append(p)
        wait_until(lambda: "ready." in p.output() or not p.alive(), 60, what="celery worker ready")
        if not p.alive():
            raise RuntimeError(f"celery worker exited:\n{p.output()}")
        return p

    def stop_processes(self) -> None:
        for p in self.procs:
            p.stop()
        self.procs.clear()

    def ensure_services(self) -> None:
        """Bring both servers back up (a failed test may have left one down)."""
        if not self.redis.running():
            self.redis.start()
        if not port_open(self.pg.port):
            self.pg.start()


@contextlib.contextmanager
def started_stack(workdir: Path) -> Iterator[Stack]:
    redis_server = RedisServer(workdir)
    pg = PostgresServer(workdir)
    stack = Stack(workdir=workdir, redis=redis_server, pg=pg, prefix=f"faults{os.getpid()}:")
    redis_server.start()
    try:
        pg.init()
        try:
            done = stack.manage("migrate", "--noinput", "-v0", timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")
            yield stack
        finally:
            stack.stop_processes()
            pg.destroy()
    finally:
        redis_server.stop()


# --- Clients --------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Browser:
    """Cookies and CSRF like a browser, over http.client (no redirects followed)."""

    def __init__(self, base_url: str) -> None:
        m = re.match(r"http://127\.0\.0\.1:(\d+)", base_url)
        assert m, base_url
        self.port = int(m.group(1))
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            if method != "GET" and "csrftoken" in self.cookies:
                form = {"csrfmiddlewaretoken": self.cookies["csrftoken"], **form}
            body = urlencode(form)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            for value in resp.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(value)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict[str, str], **kw: Any) -> Response:
        return self.request("POST", path, form=form, **kw)

    def become_guest(self) -> None:
        self.get("/")
        resp = self.post("/guest/", {"adult": "on"})
        assert resp.status in (302, 303), f"/guest/ answered {resp.status}: {resp.text[:300]}"
        assert "sessionid" in self.cookies, "no session cookie after /guest/"

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


class ChatClient:
    """One chat socket (asyncio, websockets). Frames are queued as they arrive; ``expect`` waits for a
    frame of a type, skipping others (which it keeps in ``seen``)."""

    def __init__(self, ws_url: str, cookie: str, name: str = "") -> None:
        self.ws_url = ws_url
        self.cookie = cookie
        self.name = name
        self.ws = None
        self.frames: asyncio.Queue = asyncio.Queue()
        self.seen: list[dict] = []
        self.reader: asyncio.Task | None = None
        self.closed = asyncio.Event()
        self.hello: dict | None = None

    async def connect(self, timeout: float = 10) -> dict:
        from websockets.asyncio.client import connect

        self.closed = asyncio.Event()
        self.ws = await asyncio.wait_for(
            connect(
                self.ws_url,
                origin=ORIGIN,
                additional_headers={"Cookie": self.cookie},
                open_timeout=timeout,
                ping_interval=None,
                max_size=2**20,
            ),
            timeout,
        )
        self.frames = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())
        self.hello = await self.expect("hello", timeout)
        return self.hello

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.seen.append(frame)
                await self.frames.put(frame)
        except Exception:
            pass
        finally:
            self.closed.set()

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, type_: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {type_!r} within {timeout}s; seen {self.seen[-8:]}")
            get = asyncio.ensure_future(self.frames.get())
            closed = asyncio.ensure_future(self.closed.wait())
            done, _ = await asyncio.wait({get, closed}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if get in done:
                closed.cancel()
                frame = get.result()
                if frame.get("type") == type_:
                    return frame
                continue
            get.cancel()
            closed.cancel()
            if closed in done and self.frames.empty():
                code = getattr(self.ws, "close_code", None)
                raise ConnectionError(
                    f"{self.name}: socket closed ({code}) waiting for {type_!r}; seen {self.seen[-8:]}"
                )

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader:
            self.reader.cancel()
