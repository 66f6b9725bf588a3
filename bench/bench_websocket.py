"""WebSocket load: two server processes, held connections with heartbeats, and a churn of pairs.

For each configuration (server x channel layer) two server processes are started on loopback
against the scratch database and this run's key prefix; two load-generator processes
(``bench/wsload.py``) open the held connections round robin over both servers, hold them idle
(application heartbeats), then run the churn (join -> matched -> offer/answer/ICE -> chat -> next)
at a fixed join rate while still holding. Server CPU and memory come from psutil on the server
pids. All configurations run in this same benchmark, one after the other, with the same
workload; the largest connection count runs on the default configuration last.

Guest sessions are created directly (guest hash in the state Redis, Django session row and its
cached copy), because ``POST /guest/`` is rate limited per IP by design.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

NAME = "websocket"
TITLE = "WebSocket load: Daphne/uvicorn, two channel layers"
TARGETS = [
    ("concurrent connections held", ">= 10,000", "connections"),
    ("time-to-match p50", "<= 10 ms", "ms"),
    ("time-to-match p99", "<= 50 ms", "ms"),
    ("relay p99", "<= 10 ms", "ms"),
    ("lost frames", "0", "frames"),
    ("churn", ">= 100 pairs/s", "pairs/s"),
]
LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}


def raise_nofile(want: int = 65536) -> int:
    """Raise the open-file limit of this process (children inherit it): to ``want`` when allowed
    (root may raise the hard limit too), else to the hard limit. Returns the soft limit in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for new_soft, new_hard in ((want, max(hard, want)), (min(want, hard), hard)):
        if hard == resource.RLIM_INFINITY:
            new_hard = hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, new_hard))
            return new_soft
        except (ValueError, OSError):
            continue
    return soft


def make_guest_sessions(n: int) -> list[str]:
    """``n`` guest identities with sessions; returns Cookie header values."""
    from django.conf import settings
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.utils import timezone

    from seendr import identity as guests
    from seendr import keys, networks
    from seendr.identity import GUEST_SESSION_KEY
    from seendr.redis_state import state

    store_cls = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"]).SessionStore
    encoder = store_cls()
    expire = timezone.now() + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    cookies, rows, cached = [], [], {}
    pipe = state().pipeline(transaction=False)
    ip_hash = networks.hash_ip("127.0.0.1")
    for i in range(n):
        gid = "g" + secrets.token_hex(12)
        pipe.hset(keys.guest(gid), mapping={"name": f"Bench Guest {i}", "ip_hash": ip_hash})
        pipe.expire(keys.guest(gid), guests.GUEST_TTL_SECONDS)
        key = secrets.token_hex(16)
        data = {GUEST_SESSION_KEY: gid}
        rows.append(Session(session_key=key, session_data=encoder.encode(data), expire_date=expire))
        cached[KEY_PREFIX + key] = data
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={key}")
        if len(pipe) >= 5000:
            pipe.execute()
    pipe.execute()
    Session.objects.bulk_create(rows, batch_size=5000)
    cache = caches[settings.SESSION_CACHE_ALIAS]
    items = list(cached.items())
    for i in range(0, len(items), 5000):
        cache.set_many(dict(items[i : i + 5000]), timeout=settings.SESSION_COOKIE_AGE)
    return cookies


class Servers:
    """``count`` server processes of ``tree`` (by default this one); ``env`` adds to theirs."""

    def __init__(
        self,
        kind: str,
        layer: str,
        count: int,
        logdir: Path,
        tree: Path = harness.ROOT,
        env: dict | None = None,
    ) -> None:
        self.kind, self.layer = kind, layer
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []
        env = {**os.environ, "PYTHONPATH": str(tree), **(env or {})}
        env["CHANNEL_LAYER_BACKEND"] = LAYERS[layer]
        env["LOG_LEVEL"] = "ERROR"
        # Every load client comes from 127.0.0.1: the per-network socket cap would stop at 20.
        env["CHAT_SOCKETS_PER_NETWORK"] = "1000000"
        for i in range(count):
            port = _free_port()
            if kind == "daphne":
                cmd = [
                    sys.executable,
                    "-m",
                    # Daphne as the app serves it (uvloop); a tree from before seendr.serve, plain
                    *(["seendr.serve"] if (tree / "seendr" / "serve.py").exists() else ["daphne"]),
                    "-v",
                    "0",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "seendr.asgi:application",
                ]
            else:
                cmd = [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "seendr.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--lifespan",
                    "off",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--ws-max-queue",
                    "64",
                ]
            log = (logdir / f"{kind}-{layer}-{i}.log").open("w")
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=tree,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=raise_nofile,
                )
            )
            self.ports.append(port)
        deadline = time.monotonic() + 60
        for port, proc in zip(self.ports, self.procs, strict=True):
            while not _port_open(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{kind} did not start (see {logdir})")
                time.sleep(0.1)
        import psutil

        self.ps = [psutil.Process(p.pid) for p in self.procs]

    @property
    def urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{p}/ws/chat/" for p in self.ports]

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.ps:
            t = p.cpu_times()
            total += t.user + t.system
        return total

    def rss(self) -> int:
        return sum(p.memory_info().rss for p in self.ps)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def _cpu_seconds(processes) -> float:
    return sum(t.user + t.system for t in (p.cpu_times() for p in processes))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_config(
    kind: str,
    layer: str,
    *,
    hold: list[str],
    churn: list[str],
    churn_rate: float,
    idle: float,
    churn_seconds: float,
    ramp_budget: float,
    logdir: Path,
    loadgens: int = 2,
    profile: str = "",
    server_count: int = 2,
    watch: tuple = (),
    tree: Path = harness.ROOT,
    env: dict | None = None,
) -> dict:
    """One configuration under the churn. ``watch``: more psutil processes (Redis) whose CPU
    during the churn is reported as ``cpu_churn_watch_cores``; ``tree`` and ``env``: the servers'."""
    from bench import wsload

    servers = Servers(kind, layer, server_count, logdir, tree=tree, env=env)
    try:
        time.sleep(1.0)
        rss0 = servers.rss()
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        go_at = ctx.Value("d", 0.0)
        dones = [ctx.Event() for _ in range(loadgens)]
        ramp_deadline = time.monotonic() + ramp_budget
        tag = f"churn{kind}{layer}{secrets.token_hex(3)}"
        procs = []
        for g in range(loadgens):
            plan = {
                "urls": servers.urls,
                "hold_cookies": hold[g::loadgens],
                "churn_cookies": churn[g::loadgens],
                "ramp_deadline": ramp_deadline,
                "connect_concurrency": 64,
                "heartbeat_seconds": 20.0,
                "idle_seconds": idle,
                "churn_seconds": churn_seconds,
                "churn_rate": churn_rate / loadgens,
                "tag": tag,
                "seed": g,
            }
            p = ctx.Process(target=wsload.run_process, args=(plan, out, dones[g], go_at))
            p.start()
            procs.append(p)
        cpu_ramp0 = servers.cpu_seconds()
        t_ramp = time.monotonic()
        for d in dones:
            d.wait(timeout=max(1.0, ramp_deadline + 30 - time.monotonic()))
        ramp_s = time.monotonic() - t_ramp
        cpu_ramp = servers.cpu_seconds() - cpu_ramp0
        start = time.monotonic() + 0.5
        go_at.value = start
        time.sleep(max(0.0, start + 0.5 - time.monotonic()))
        rss_idle = servers.rss()
        c0 = servers.cpu_seconds()
        prof = ""
        if profile == "idle":
            prof = harness.pyspy_summary(servers.ps[0].pid, max(1.0, idle - 2.0))
        time.sleep(max(0.1, start + idle - 0.2 - time.monotonic()))
        cpu_idle = (servers.cpu_seconds() - c0) / max(0.1, idle - 0.7)
        time.sleep(max(0.0, start + idle + 0.5 - time.monotonic()))
        c1 = servers.cpu_seconds()
        w1 = _cpu_seconds(watch)
        if profile == "churn":
            prof = harness.pyspy_summary(servers.ps[0].pid, min(5.0, churn_seconds - 2.0))
        time.sleep(max(0.1, start + idle + churn_seconds - 0.5 - time.monotonic()))
        cpu_churn = (servers.cpu_seconds() - c1) / max(0.1, churn_seconds - 1.0)
        cpu_watch = (_cpu_seconds(watch) - w1) / max(0.1, churn_seconds - 1.0)
        rss_peak = servers.rss()
        results = [out.get(timeout=ramp_budget + idle + churn_seconds + 120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        fatal = [r["fatal"] for r in results if "fatal" in r]
        if fatal:
            raise RuntimeError("; ".join(fatal))
    finally:
        servers.stop()

    merged: dict[str, dict[str, float]] = {}
    relay, waits, connect_s = [], [], []
    errors: dict[str, int] = {}
    for r in results:
        for mid, rec in r["matches"].items():
            merged.setdefault(mid, {}).update(rec)
        relay += r["relay"]
        waits += r["queued_waits"]
        connect_s += r["connect_seconds"]
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    ttm = [max(m["a"], m["b"]) - m["join"] for m in merged.values() if {"a", "b", "join"} <= m.keys()]
    half = [m for m in merged.values() if not ({"a", "b", "join"} <= m.keys())]
    held = sum(r["held"] for r in results) + sum(r["churners"] for r in results)
    held_end = sum(r["held_at_end"] for r in results)
    return {
        "kind": kind,
        "layer": layer,
        "target_connections": len(hold) + len(churn),
        "opened": held,
        "held_at_end": held_end,
        "closed_early": sum(r["closed_early"] for r in results),
        "connect_failed": sum(r["connect_failed"] for r in results),
        "ramp_s": ramp_s,
        "connect": harness.summary_ms(connect_s),
        "cpu_ramp_s": cpu_ramp,
        "cpu_idle_cores": cpu_idle,
        "cpu_churn_cores": cpu_churn,
        "cpu_churn_watch_cores": cpu_watch,
        "servers": server_count,
        "rss0_mib": rss0 / 2**20,
        "rss_peak_mib": rss_peak / 2**20,
        "rss_per_conn_kib": (rss_idle - rss0) / 1024 / held if held else None,
        "cpu_idle_per_1k_conn": cpu_idle / held * 1000 if held else None,
        "pairs": len(ttm),
        "pairs_s": len(ttm) / churn_seconds,
        "half_matches": len(half),
        "joins": sum(r["joins"] for r in results),
        "ttm": harness.summary_ms(ttm),
        "queued_wait": harness.summary_ms(waits),
        "relay": harness.summary_ms(relay),
        "sent_relay": sum(r["sent_relay"] for r in results),
        "lost": sum(r["lost_relay"] for r in results),
        "profile": prof,
        "pings": sum(r["pings"] for r in results),
        "pongs": sum(r["pongs"] for r in results),
        "errors": errors,
    }


def main(budget_s: float) -> int:
    started = time.monotonic()
    budget = harness.Budget(budget_s)
    nofile = raise_nofile()
    harness.django_setup()
    try:
        from matching import consumers  # noqa: F401
        from matching.routing import websocket_urlpatterns

        if not websocket_urlpatterns:
            raise RuntimeError("no WebSocket route")
    except Exception as exc:
        harness.not_measured(
            NAME, TITLE, f"the chat consumer is not ready ({type(exc).__name__}: {exc})", started, TARGETS
        )
        return 0

    big = int(os.environ.get("BENCH_WS_CONNECTIONS", "10000"))
    small = int(os.environ.get("BENCH_WS_COMPARE_CONNECTIONS", "1000"))
    churners = int(os.environ.get("BENCH_WS_CHURN_CLIENTS", "600"))
    rate = float(os.environ.get("BENCH_WS_PAIR_RATE", "110"))  # pairs/s offered (~2x as many joins)
    churn_seconds = float(os.environ.get("BENCH_WS_CHURN_SECONDS", "10"))
    configs = [
        c.split("+")
        for c in os.environ.get(
            "BENCH_WS_CONFIGS", "daphne+pubsub,daphne+core,uvicorn+pubsub,uvicorn+core"
        ).split(",")
        if "+" in c
    ]
    # Each of the two servers and the two load generators holds about half of the sockets.
    cap = max(0, min(big, 2 * (nofile - 2000)))
    t0 = time.monotonic()
    cookies = make_guest_sessions(max(big, small) + churners)
    session_s = time.monotonic() - t0
    churn_cookies, hold_cookies = cookies[:churners], cookies[churners:]
    logdir = Path(tempfile.mkdtemp(prefix="seendr-bench-ws-"))

    rows = []
    for kind, layer in configs:
        if budget.left() < 150:
            rows.append({"kind": kind, "layer": layer, "skipped": "time budget"})
            continue
        try:
            rows.append(
                run_config(
                    kind,
                    layer,
                    hold=hold_cookies[: max(0, small - churners)],
                    churn=churn_cookies,
                    churn_rate=rate,
                    idle=3.0,
                    churn_seconds=churn_seconds,
                    ramp_budget=25.0,
                    logdir=logdir,
                    profile="churn" if kind == "daphne" else "",
                )
            )
        except Exception as exc:
            rows.append({"kind": kind, "layer": layer, "skipped": f"{type(exc).__name__}: {exc}"})
    # The same default configuration at a light churn: what a match costs when nothing queues.
    light_rate = float(os.environ.get("BENCH_WS_LIGHT_PAIR_RATE", "20"))
    light = None
    if budget.left() > 110 and light_rate > 0:
        try:
            light = run_config(
                "daphne",
                "pubsub",
                hold=hold_cookies[: max(0, small - churners)],
                churn=churn_cookies,
                churn_rate=light_rate,
                idle=2.0,
                churn_seconds=churn_seconds,
                ramp_budget=25.0,
                logdir=logdir,
            )
            light["label"] = f"daphne + pubsub, light churn ({light_rate:.0f} pairs/s offered)"
        except Exception as exc:
            light = {
                "kind": "daphne",
                "layer": "pubsub",
                "skipped": f"{type(exc).__name__}: {exc}",
                "label": "daphne + pubsub, light churn",
            }
    big_row = before_row = None
    baseline = os.environ.get("BENCH_WS_BASELINE", "1") != "0"
    # (the large runs go last: whatever time is left is their ramp, shared with the baseline's)
    ramp_budget = max(20.0, budget.left() / (2 if baseline else 1) - churn_seconds - 40)
    if budget.left() > 60 and cap > small:
        try:
            big_row = run_config(
                "daphne",
                "pubsub",
                hold=hold_cookies[: cap - churners],
                churn=churn_cookies,
                churn_rate=rate,
                idle=5.0,
                churn_seconds=churn_seconds,
                ramp_budget=min(150.0, ramp_budget),
                logdir=logdir,
                profile="idle",
            )
            big_row["label"] = f"daphne + pubsub, large run ({big_row['opened']:,} opened)"
        except Exception as exc:
            big_row = {"kind": "daphne", "layer": "pubsub", "skipped": f"{type(exc).__name__}: {exc}"}
    if baseline and budget.left() > 90 and cap > small:
        before_row = large_run_before(
            cap=cap,
            churners=churners,
            rate=rate,
            churn_seconds=churn_seconds,
            ramp_budget=min(150.0, max(20.0, budget.left() - churn_seconds - 40)),
            logdir=logdir,
        )

    result = harness.Result(name=NAME, title=TITLE)
    result.setup = [
        f"Two server processes per configuration on loopback; two load-generator processes (asyncio, "
        f"`websockets`); {churners} churn clients sharing one interest (stage-1 match at once) at "
        f"{rate:.0f} pairs/s offered (the initiator sends `next` at once, the other side re-joins at the "
        f"paced rate), for {churn_seconds:.0f} s, while the other connections are held with an application "
        "heartbeat (`ping` every 20 s); the light run offers "
        f"{light_rate:.0f} pairs/s.",
        f"Comparison runs hold {small:,} connections each; the large run holds up to {cap:,} on the default "
        f"configuration (Daphne + `RedisPubSubChannelLayer`). Open-file limit raised to {nofile:,}.",
        f"{len(cookies):,} guest sessions created directly in {session_s:.1f} s "
        "(POST /guest/ is rate limited per IP).",
        "Time-to-match: from the `join` (or `next`) that completes a pair to the later of the two `matched` "
        "frames. Relay: from `send` of a `signal`/`chat` frame to its arrival at the partner.",
        "Load generators, both servers, Redis and PostgreSQL share the same 2 CPUs.",
    ]
    if before_row is not None:
        result.setup.append(
            "Before: the large run again, right after it, on the live loop's baseline commit "
            "(`BENCH_LIVELOOP_BASELINE`, a git worktree) with its own key prefix and guests; "
            "`BENCH_WS_BASELINE=0` skips it."
        )
    table = []
    extra = [r for r in (light, big_row, before_row) if r]
    for r in rows + extra:
        if "skipped" in r:
            table.append(
                [
                    r.get("label") or f"{r['kind']} + {r['layer']}",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    f"not run: {r['skipped'][:120]}",
                ]
            )
            continue
        table.append(
            [
                r.get("label") or f"{r['kind']} + {r['layer']}",
                r["held_at_end"],
                r["pairs_s"],
                r["ttm"]["p50_ms"],
                r["ttm"]["p99_ms"],
                r["relay"]["p50_ms"],
                r["relay"]["p99_ms"],
                r["lost"],
                r["cpu_idle_per_1k_conn"],
                r["rss_per_conn_kib"],
                ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none",
            ]
        )
    result.table(
        "Side by side (same workload)",
        [
            "server + layer",
            "held at end",
            "pairs/s",
            "time-to-match p50 ms",
            "p99 ms",
            "relay p50 ms",
            "relay p99 ms",
            "lost frames",
            "idle CPU cores per 1k conns",
            "server RSS KiB per conn",
            "errors",
        ],
        table,
    )
    detail = []
    for r in rows + extra:
        if "skipped" in r:
            continue
        detail.append(
            [
                r.get("label") or f"{r['kind']} + {r['layer']}",
                r["opened"],
                r["connect_failed"],
                r["closed_early"],
                r["ramp_s"],
                r["connect"]["p50_ms"],
                r["connect"]["p99_ms"],
                r["cpu_idle_cores"],
                r["cpu_churn_cores"],
                r["rss_peak_mib"],
                r["queued_wait"]["p50_ms"],
                r["pings"],
                r["pongs"],
                r["half_matches"],
            ]
        )
    result.table(
        "Details",
        [
            "server + layer",
            "opened",
            "connect failed",
            "closed early",
            "ramp s",
            "connect p50 ms",
            "connect p99 ms",
            "server CPU idle (cores)",
            "server CPU churn (cores)",
            "server RSS peak MiB",
            "queued side wait p50 ms",
            "pings",
            "pongs",
            "half-seen matches",
        ],
        detail,
    )

    ran = [r for r in rows if "skipped" not in r]
    main_row = big_row if big_row and "skipped" not in big_row else (ran[0] if ran else None)
    if main_row is None:
        result.status = "not_measured"
        result.reason = "no configuration completed: " + "; ".join(r.get("skipped", "") for r in rows)
        for metric, target, unit in TARGETS:
            result.target(metric, target, None, unit, None)
    else:
        label = f"{main_row['kind']} + {main_row['layer']}, {main_row['opened']:,} opened"
        result.target(
            TARGETS[0][0],
            TARGETS[0][1],
            main_row["held_at_end"],
            "connections",
            main_row["held_at_end"] >= 10_000,
            label,
        )
        # The latency targets, first under the large run (everything at once), then on the default
        # configuration with 1,000 connections (same churn), so both readings stand side by side.
        default_small = next((r for r in ran if (r["kind"], r["layer"]) == ("daphne", "pubsub")), None)
        readings = [(main_row, f"large run, {main_row['held_at_end']:,} held")]
        if default_small is not None and default_small is not main_row:
            readings.append((default_small, f"daphne + pubsub, {default_small['held_at_end']:,} held"))
        for row, where in readings:
            suffix = "" if row is main_row else f" ({row['held_at_end']:,} connections)"
            ttm, rl = row["ttm"], row["relay"]
            before = (
                f"; before: {_before_ttm(before_row)}" if row is big_row and _before_ttm(before_row) else ""
            )
            result.target(
                TARGETS[1][0] + suffix,
                TARGETS[1][1],
                ttm["p50_ms"],
                "ms",
                ttm["p50_ms"] is not None and ttm["p50_ms"] <= 10,
                f"{where}; {ttm['n']:,} pairs at {row['pairs_s']:.0f} pairs/s{before}",
            )
            result.target(
                TARGETS[2][0] + suffix,
                TARGETS[2][1],
                ttm["p99_ms"],
                "ms",
                ttm["p99_ms"] is not None and ttm["p99_ms"] <= 50,
                f"{where}{before}",
            )
            result.target(
                TARGETS[3][0] + suffix,
                TARGETS[3][1],
                rl["p99_ms"],
                "ms",
                rl["p99_ms"] is not None and rl["p99_ms"] <= 10,
                f"{where}; {rl['n']:,} frames",
            )
            result.target(
                TARGETS[4][0] + suffix,
                TARGETS[4][1],
                row["lost"],
                "frames",
                row["lost"] == 0,
                f"{where}; of {row['sent_relay']:,} sent",
            )
            result.target(
                TARGETS[5][0] + suffix, TARGETS[5][1], row["pairs_s"], "pairs/s", row["pairs_s"] >= 100, where
            )
        if big_row is None or "skipped" in big_row:
            result.status = "partial"
            result.reason = (
                "the large run did not fit: "
                + (big_row or {}).get("skipped", "no time left")
                + f"; the targets above come from {label}"
            )
    if ran:
        labels = [f"{r['kind']}\n{r['layer']}" for r in ran]
        result.plot(
            "Time-to-match and relay (comparison runs)",
            "bar",
            "",
            "ms",
            [
                {"label": "time-to-match p50", "x": labels, "y": [r["ttm"]["p50_ms"] for r in ran]},
                {"label": "time-to-match p99", "x": labels, "y": [r["ttm"]["p99_ms"] for r in ran]},
                {"label": "relay p99", "x": labels, "y": [r["relay"]["p99_ms"] for r in ran]},
            ],
            logy=True,
        )
        result.plot(
            "Server cost per 1,000 idle connections",
            "bar",
            "",
            "CPU cores / KiB per conn / 100",
            [
                {
                    "label": "idle CPU cores per 1k",
                    "x": labels,
                    "y": [r["cpu_idle_per_1k_conn"] for r in ran],
                },
                {
                    "label": "RSS KiB per conn / 100",
                    "x": labels,
                    "y": [(r["rss_per_conn_kib"] or 0) / 100 for r in ran],
                },
            ],
        )
        result.notes.append(_verdict(ran))
    profiles = []
    for r in [*rows, *(x for x in (light, big_row) if x)]:
        if r.get("profile"):
            phase = "holding only (heartbeats)" if r is big_row else "during the churn"
            label = r.get("label") or f"{r['kind']} + {r['layer']}"
            profiles.append(f"py-spy, one server process of {label}, {phase}:\n{r['profile']}")
    result.profile = "\n\n".join(profiles)
    result.notes.append(f"Server logs of this run were in {logdir.name} (temporary).")
    harness.write_result(result, started)
    return 0


def large_run_before(
    *, cap: int, churners: int, rate: float, churn_seconds: float, ramp_budget: float, logdir: Path
) -> dict:
    """The large run again on the live loop's baseline commit (``BENCH_LIVELOOP_BASELINE``, a git
    worktree), under its own key prefix and guests: the issue's time to match at 10,000 held,
    before and after, in the same run."""
    from django.conf import settings

    from bench.bench_liveloop import BASELINE, baseline_tree, drop_tree, prefix_for

    label = f"daphne + pubsub, large run, before ({BASELINE[:7]})"
    tree = baseline_tree(Path(tempfile.mkdtemp(prefix="seendr-bench-ws-before-")))
    if tree is None:
        return {"kind": "daphne", "layer": "pubsub", "label": label, "skipped": "no worktree of the baseline"}
    run_prefix, settings.SEENDR_KEY_PREFIX = settings.SEENDR_KEY_PREFIX, prefix_for("before")
    try:
        cookies = make_guest_sessions(cap)
    finally:
        settings.SEENDR_KEY_PREFIX = run_prefix
    try:
        row = run_config(
            "daphne",
            "pubsub",
            hold=cookies[churners:],
            churn=cookies[:churners],
            churn_rate=rate,
            idle=5.0,
            churn_seconds=churn_seconds,
            ramp_budget=ramp_budget,
            logdir=logdir,
            tree=tree,
            env={"SEENDR_KEY_PREFIX": prefix_for("before")},
        )
        row["label"] = label
        return row
    except Exception as exc:
        return {
            "kind": "daphne",
            "layer": "pubsub",
            "label": label,
            "skipped": f"{type(exc).__name__}: {exc}",
        }
    finally:
        drop_tree(tree)


def _before_ttm(row: dict | None) -> str:
    if row is None or "skipped" in row:
        return ""
    ttm = row["ttm"]
    return (
        f"p50 {ttm['p50_ms']:,.1f} / p99 {ttm['p99_ms']:,.1f} ms at {row['pairs_s']:.0f} pairs/s, "
        f"{row['held_at_end']:,} held ({row['label']})"
    )


def _verdict(rows: list[dict]) -> str:
    def key(r: dict) -> tuple:
        return (r["lost"], r["ttm"]["p99_ms"] or 1e9)

    best = min(rows, key=key)
    by = {(r["kind"], r["layer"]): r for r in rows}
    parts = [f"Best time-to-match p99 with no lost frames: {best['kind']} + {best['layer']}."]
    for kind in ("daphne", "uvicorn"):
        a, b = by.get((kind, "pubsub")), by.get((kind, "core"))
        if a and b and a["ttm"]["p99_ms"] and b["ttm"]["p99_ms"]:
            parts.append(
                f"{kind}: pub/sub layer p99 {a['ttm']['p99_ms']:.1f} ms vs core layer "
                f"{b['ttm']['p99_ms']:.1f} ms; relay p99 {a['relay']['p99_ms']:.1f} vs "
                f"{b['relay']['p99_ms']:.1f} ms."
            )
    return " ".join(parts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=230.0)
    sys.exit(main(parser.parse_args().budget))
