"""Shared plumbing of `make bench`: an isolated environment, statistics, result files, tables.

Isolation: every benchmark runs with ``SEENDR_KEY_PREFIX=bench<pid>:`` (every Redis key and the
Channels prefix derive from it) and against its own scratch database ``seendr_bench`` on the same
PostgreSQL server, created and migrated by :func:`prepare_database` and dropped at the end of
the run. A developer's ``make run`` data (database ``seendr``, prefix ``seendr:``) is never read
or written.

Every loop in the suite is bounded twice: by a count and by a deadline (:class:`Budget`).
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DB = os.environ.get("SEENDR_BENCH_DB", "seendr_bench")

LOAD_AT_START = os.getloadavg()

sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))


# --- Environment ----------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def bench_env() -> dict[str, str]:
    """Resolve PostgreSQL/Redis like `make run`, then point everything at bench-only names.

    Idempotent: a child process that inherits the environment keeps the parent's prefix and
    database.
    """
    import services  # scripts/services.py

    if os.environ.get("SEENDR_BENCH_READY") == "1":
        return {k: os.environ[k] for k in _ENV_KEYS if k in os.environ}
    resolved = services.ensure(purpose="bench")
    env = {
        "DJANGO_SETTINGS_MODULE": "seendr.settings_test",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789"),
        "SEENDR_KEY_PREFIX": f"bench{os.getpid()}:",
        "DATABASE_URL": _with_database(resolved["DATABASE_URL"], BENCH_DB),
        "REDIS_CACHE_URL": resolved["REDIS_CACHE_URL"],
        "REDIS_STATE_URL": resolved["REDIS_STATE_URL"],
        "REDIS_CHANNELS_URL": resolved["REDIS_CHANNELS_URL"],
        "CELERY_BROKER_URL": resolved["CELERY_BROKER_URL"],
        "CELERY_TASK_DEFAULT_QUEUE": f"bench{os.getpid()}",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "0",
        "PYTHONUNBUFFERED": "1",
        "SEENDR_BENCH_READY": "1",
    }
    os.environ.update(env)
    return env


_ENV_KEYS = (
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "SEENDR_KEY_PREFIX",
    "DATABASE_URL",
    "REDIS_CACHE_URL",
    "REDIS_STATE_URL",
    "REDIS_CHANNELS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_DEFAULT_QUEUE",
    "LOG_LEVEL",
    "LOG_JSON",
    "PYTHONUNBUFFERED",
    "SEENDR_BENCH_READY",
)


def start_private_redis(workdir: Path) -> subprocess.Popen | None:
    """A redis-server of the run's own on a free loopback port (nothing persisted), so the numbers
    are not mixed with other clients of the shared Redis and INFO counters are the run's alone.
    Points every Redis role of this process (and its children) at it. None if no binary is found.
    """
    import socket

    import services  # scripts/services.py

    try:
        binary = services.redis_server_binary()
    except (OSError, subprocess.CalledProcessError, ImportError):
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir.mkdir(parents=True, exist_ok=True)
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
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            return None
        time.sleep(0.05)
    for db, name in enumerate(
        ("REDIS_CACHE_URL", "REDIS_STATE_URL", "REDIS_CHANNELS_URL", "CELERY_BROKER_URL")
    ):
        os.environ[name] = f"redis://127.0.0.1:{port}/{db}"
    return proc


def django_setup() -> None:
    """Configure Django inside a benchmark process (after :func:`bench_env`)."""
    bench_env()
    import django

    django.setup()


def _admin_url() -> str:
    return _with_database(os.environ["DATABASE_URL"], "postgres").replace("postgres://", "postgresql://", 1)


def prepare_database(*, fresh: bool = False) -> None:
    """Create ``seendr_bench`` if missing (or anew) and migrate it. Never touches another database."""
    import psycopg
    from psycopg import sql

    bench_env()
    with psycopg.connect(_admin_url(), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone()
        if exists and fresh:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    subprocess.check_call(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=os.environ.copy(),
    )


def drop_database() -> None:
    import psycopg
    from psycopg import sql

    bench_env()
    with psycopg.connect(_admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


def delete_bench_keys() -> int:
    """Remove every key of this run's prefix from every Redis role (SCAN, never KEYS)."""
    import redis

    bench_env()
    prefix = os.environ["SEENDR_KEY_PREFIX"]
    patterns = [prefix + "*", prefix.replace(":", ".") + "asgi*"]
    urls = {
        os.environ[k]
        for k in ("REDIS_CACHE_URL", "REDIS_STATE_URL", "REDIS_CHANNELS_URL", "CELERY_BROKER_URL")
    }
    deleted = 0
    for url in urls:
        client = redis.Redis.from_url(url)
        try:
            for pattern in patterns:
                batch: list[bytes] = []
                for key in client.scan_iter(match=pattern, count=5000):
                    batch.append(key)
                    if len(batch) >= 5000:
                        deleted += client.unlink(*batch)
                        batch = []
                if batch:
                    deleted += client.unlink(*batch)
        finally:
            client.close()
    return deleted


# --- Bounded loops ----------------------------------------------------------------------------


class Budget:
    """A deadline: ``while budget.left() and n < N`` bounds every loop by time and count."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + seconds

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def __bool__(self) -> bool:
        return time.monotonic() < self.deadline

    def elapsed(self) -> float:
        return time.monotonic() - self.start


# --- Statistics -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def summary_ms(samples_s: Sequence[float]) -> dict[str, float | int | None]:
    """Latency summary in milliseconds from samples in seconds."""
    ms = [s * 1000.0 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "mean_ms": statistics.fmean(ms) if ms else None,
    }


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}g}"
    return str(value)


# --- Results --------------------------------------------------------------------------------


@dataclass
class Target:
    metric: str
    target: str  # human text, e.g. ">= 5,000 pairs/s"
    measured: float | None
    unit: str
    ok: bool | None  # None: not measured
    note: str = ""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Plot:
    title: str
    kind: str  # "bar" | "line"
    xlabel: str
    ylabel: str
    series: list[dict[str, Any]]  # {"label", "x": [...], "y": [...]}
    logx: bool = False
    logy: bool = False


@dataclass
class Result:
    name: str
    title: str
    status: str = "measured"  # "measured" | "partial" | "not_measured"
    reason: str = ""
    setup: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: str = ""
    duration_s: float = 0.0
    finished_at: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    def target(
        self, metric: str, target: str, measured: float | None, unit: str, ok: bool | None, note: str = ""
    ) -> None:
        self.targets.append(Target(metric, target, measured, unit, ok, note))

    def table(self, title: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
        self.tables.append(Table(title, columns, [list(r) for r in rows]))

    def plot(
        self,
        title: str,
        kind: str,
        xlabel: str,
        ylabel: str,
        series: list[dict[str, Any]],
        *,
        logx: bool = False,
        logy: bool = False,
    ) -> None:
        self.plots.append(Plot(title, kind, xlabel, ylabel, series, logx, logy))


def machine_info() -> dict[str, Any]:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_avg_at_start": [round(x, 2) for x in LOAD_AT_START],
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(result: Result, started: float) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result.duration_s = round(time.monotonic() - started, 1)
    result.finished_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    result.machine = machine_info()
    path = RESULTS / f"{result.name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    tmp.replace(path)
    print_result(result)
    return path


def print_result(result: Result) -> None:
    out = sys.stdout
    out.write(f"\n=== {result.title} [{result.status}] ({result.duration_s:.0f} s)\n")
    if result.reason:
        out.write(f"    {result.reason}\n")
    if result.targets:
        print_table(
            ["metric", "target", "measured", "ok"],
            [
                [
                    t.metric,
                    t.target,
                    f"{fmt(t.measured)} {t.unit}" if t.measured is not None else "not measured",
                    {True: "PASS", False: "MISS", None: "—"}[t.ok],
                ]
                for t in result.targets
            ],
        )
    for table in result.tables:
        out.write(f"\n  {table.title}\n")
        print_table(table.columns, table.rows)
    out.flush()


def print_table(columns: list[str], rows: list[list[Any]]) -> None:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [
        max(len(str(col)), *(len(r[i]) for r in cells)) if cells else len(col)
        for i, col in enumerate(columns)
    ]
    line = "  " + "  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True))
    print(line)
    print("  " + "  ".join("-" * w for w in widths))
    for row in cells:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def not_measured(
    name: str, title: str, reason: str, started: float, targets: list[tuple[str, str, str]]
) -> Path:
    """Record a benchmark that could not run, with every target marked "not measured"."""
    result = Result(name=name, title=title, status="not_measured", reason=reason)
    for metric, target, unit in targets:
        result.target(metric, target, None, unit, None, reason)
    return write_result(result, started)


def cprofile_summary(stats_path: str | Path, limit: int = 15) -> str:
    """The top functions by cumulative and by own time of a cProfile dump, as plain text."""
    import io
    import pstats

    buf = io.StringIO()
    st = pstats.Stats(str(stats_path), stream=buf)
    st.strip_dirs().sort_stats("tottime").print_stats(limit)
    text = buf.getvalue()
    keep = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(keep[-(limit + 2) :])


def pyspy_summary(pid: int, seconds: float, limit: int = 15) -> str:
    """Sample a running process with py-spy for a few seconds; the hottest functions by own time.

    Empty string when py-spy is missing or not permitted (ptrace).
    """
    import shutil
    import tempfile

    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        return ""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw.txt"
        try:
            subprocess.run(
                [
                    exe,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(max(1, int(seconds))),
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                capture_output=True,
                timeout=seconds + 30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        if not out.exists():
            return ""
        own: dict[str, int] = {}
        inclusive: dict[str, int] = {}
        total = 0
        for line in out.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            # "function (path/file.py:line)": aggregate per function, not per line.
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")] if stack else ["?"]
            own[frames[-1]] = own.get(frames[-1], 0) + n
            for frame in set(frames):
                if any(f"({app}/" in frame for app in PROJECT_DIRS):
                    inclusive[frame] = inclusive.get(frame, 0) + n
    if not total:
        return ""
    lines = [f"{total} samples (busy threads only). Own time:"]
    lines += [
        f"{100.0 * n / total:5.1f}%  {name}" for name, n in sorted(own.items(), key=lambda kv: -kv[1])[:limit]
    ]
    if inclusive:
        lines.append("Project code, inclusive time:")
        lines += [
            f"{100.0 * n / total:5.1f}%  {name}"
            for name, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:limit]
        ]
    return "\n".join(lines)


PROJECT_DIRS = ("seendr", "matching", "profiles", "accounts", "leaderboard", "moderation", "bench")
