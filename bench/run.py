"""`make bench`: every benchmark in turn, each in its own process with its own time budget, then
docs/benchmarks.md. The whole run stays under 20 minutes on 2 cores.

    python bench/run.py                 # everything
    python bench/run.py matcher leaderboard   # a subset (the doc is still regenerated from all results)

A benchmark that crashes or overruns is recorded as "not measured" with the reason; nothing is
ever filled in with a made-up number.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

# name -> (module, seconds of budget, title, targets for a not-measured record)
BENCHMARKS: dict[str, tuple[str, float, str, list[tuple[str, str, str]]]] = {
    "matcher": (
        "bench.bench_matcher",
        80.0,
        "Matcher: Redis Lua pool vs PostgreSQL SKIP LOCKED",
        [
            ("Redis pool throughput", ">= 5,000 pairs/s (10,000 joins/s)", "pairs/s"),
            ("Redis vs PostgreSQL, same rules", ">= 5x", "x"),
            ("join p50 at 100,000 waiting vs 10 waiting", "within 2x (flat)", "x"),
        ],
    ),
    "websocket": (
        "bench.bench_websocket",
        450.0,
        "WebSocket load: Daphne/uvicorn, two channel layers",
        [
            ("concurrent connections held", ">= 10,000", "connections"),
            ("time-to-match p50", "<= 10 ms", "ms"),
            ("time-to-match p99", "<= 50 ms", "ms"),
            ("relay p99", "<= 10 ms", "ms"),
            ("lost frames", "0", "frames"),
        ],
    ),
    "liveloop": (
        "bench.bench_liveloop",
        210.0,
        "Live loop: one web process under churn, before and after (same run)",
        [
            (
                "churn capacity, one web process, 1,000 idle held, ttm p99 <= 50 ms",
                ">= 300 pairs/s",
                "pairs/s",
            ),
            ("server CPU per pair cycle", "<= 2 ms", "ms"),
            ("signal relay p99 at 1,000 held + 100 pairs/s", "<= 10 ms", "ms"),
            ("time-to-match p99 at 1,000 held + 100 pairs/s", "<= 50 ms", "ms"),
            ("Redis CPU per join (match.lua)", "<= 20 µs", "µs"),
        ],
    ),
    "makerun": (
        "bench.bench_makerun",
        240.0,
        "`make run` under churn: 1,000 idle sockets + 100 churning clients, load generator beside it",
        [
            ("pairs/s formed with relay p99 <= 50 ms, 1,000 idle held", ">= 150 pairs/s", "pairs/s"),
            ("signal relay p99 at that rate", "<= 50 ms", "ms"),
        ],
    ),
    "profile_cache": (
        "bench.bench_profile_cache",
        100.0,
        "Profile cache: Redis cache-aside vs PostgreSQL only",
        [
            ("hit ratio (Zipf s=1.1)", ">= 97%", "%"),
            ("cached read p50", "<= 1 ms", "ms"),
            ("cached vs PostgreSQL-only p50", ">= 10x", "x"),
            ("PostgreSQL queries for 200 concurrent cold readers", "1", "queries"),
        ],
    ),
    "scale": (
        "bench.bench_scale",
        150.0,
        "Scale drill: 1, 2 and 4 web processes, same churn",
        [
            ("pairs/s with 4 processes vs 1", "reported (2 cores cap the total)", "x"),
            ("web CPU per pair, 4 processes vs 1", "reported (flat: linear scaling)", "x"),
        ],
    ),
    "leaderboard": (
        "bench.bench_leaderboard",
        45.0,
        "Leaderboard: 1,000,000 members",
        [
            ("top-100 + my rank p50", "<= 2 ms", "ms"),
            ("ZINCRBY pipelined", "reported", "ops/s"),
        ],
    ),
}


# The whole of `make bench` stays under 20 minutes: the WebSocket run goes last and its large run
# takes whatever is left of this total (setup and the report included).
TOTAL_SECONDS = float(os.environ.get("BENCH_TOTAL_SECONDS", "1175"))
RUN_ORDER = ["matcher", "liveloop", "makerun", "profile_cache", "leaderboard", "scale", "websocket"]


def run_one(name: str, budget_cap: float | None = None) -> None:
    module, budget, title, targets = BENCHMARKS[name]
    if budget_cap is not None:
        budget = max(30.0, min(budget, budget_cap))
    started = time.monotonic()
    result_path = harness.RESULTS / f"{name}.json"
    before = result_path.stat().st_mtime if result_path.exists() else 0.0
    print(f"\n>>> {name} (budget {budget:.0f} s)", flush=True)
    log = harness.RESULTS / f"{name}.log.tmp"
    harness.RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("w") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, "--budget", str(budget)],
                cwd=harness.ROOT,
                env=os.environ.copy(),
                stdout=subprocess.PIPE,
                stderr=fh,
                text=True,
            )
            assert proc.stdout is not None
            # A benchmark that overruns its budget by a minute is killed (and recorded as such).
            watchdog = threading.Timer(budget + 60, proc.kill)
            watchdog.start()
            try:
                for line in proc.stdout:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                code = proc.wait(timeout=budget + 90)
            finally:
                watchdog.cancel()
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = -9
    fresh = result_path.exists() and result_path.stat().st_mtime > before
    if code != 0 or not fresh:
        tail = log.read_text(errors="replace").strip().splitlines()[-6:] if log.exists() else []
        reason = f"the benchmark process exited with {code}" + (": " + " / ".join(tail) if tail else "")
        if fresh and code != 0:
            reason = f"exited with {code} after writing partial results"
            data = json.loads(result_path.read_text())
            data["status"] = "partial"
            data["reason"] = reason
            result_path.write_text(json.dumps(data, indent=2) + "\n")
        else:
            harness.not_measured(name, title, reason[:800], started, targets)
    print(f"<<< {name}: {time.monotonic() - started:.0f} s", flush=True)


def main(argv: list[str]) -> int:
    t0 = time.monotonic()
    names = argv or list(RUN_ORDER)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    harness.bench_env()
    redis_proc = None
    if not os.environ.get("BENCH_SHARED_REDIS"):
        import tempfile

        redis_proc = harness.start_private_redis(Path(tempfile.mkdtemp(prefix="seendr-bench-redis-")))
    where = os.environ["REDIS_STATE_URL"].rsplit("/", 1)[0]
    print(
        f"[bench] prefix {os.environ['SEENDR_KEY_PREFIX']}, database {harness.BENCH_DB}, "
        f"Redis {where} ({'private' if redis_proc else 'shared'})",
        flush=True,
    )
    harness.prepare_database(fresh=True)
    try:
        for i, name in enumerate(names):
            later = sum(BENCHMARKS[n][1] for n in names[i + 1 :])
            run_one(name, budget_cap=TOTAL_SECONDS - 20 - (time.monotonic() - t0) - later)
    finally:
        harness.delete_bench_keys()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        if not os.environ.get("BENCH_KEEP_DB"):
            harness.drop_database()
    from bench import report

    report.main()
    print(f"[bench] total {time.monotonic() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
