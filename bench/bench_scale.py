"""Scale drill: the same churn load on 1, 2 and 4 web processes.

Daphne processes with the default pub/sub channel layer on loopback ports; two load-generator
processes spread the churn clients round robin over the processes' ports (so with four
processes each serves a quarter of the sockets, and most pairs span two processes: their relay
crosses the channel layer). Every run offers the same pairs per second. Reported per run:
pairs/s, time-to-match and relay percentiles, web CPU (all processes) and Redis CPU during the
churn, and both per pair, so the per-process and per-Redis-core cost is visible even where
the machine's two cores cap the total. ``docs/scaling.md`` builds its capacity model on these
numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from bench.bench_websocket import make_guest_sessions, raise_nofile, run_config

NAME = "scale"
TITLE = "Scale drill: 1, 2 and 4 web processes, same churn"
TARGETS = [
    ("pairs/s with 4 processes vs 1", "reported (2 cores cap the total)", "x"),
    ("web CPU per pair, 4 processes vs 1", "reported (flat: linear scaling)", "x"),
]
PROCESS_COUNTS = (1, 2, 4)


def _redis_process():
    """The state/channels Redis as a psutil process when it runs on this machine, else None."""
    import psutil
    import redis

    from seendr.redis_state import client_for_url

    client = client_for_url(os.environ["REDIS_STATE_URL"])
    try:
        pid = int(client.info("server")["process_id"])
        return psutil.Process(pid)
    except (redis.RedisError, KeyError, psutil.Error):
        return None
    finally:
        client.close()


def per_pair_ms(cores: float | None, pairs_s: float) -> float | None:
    """CPU milliseconds spent per pair formed (cores busy / pairs per second)."""
    if cores is None or not pairs_s:
        return None
    return cores / pairs_s * 1000.0


def main(budget_s: float) -> int:
    started = time.monotonic()
    budget = harness.Budget(budget_s)
    raise_nofile()
    harness.django_setup()
    churners = int(os.environ.get("BENCH_SCALE_CHURN_CLIENTS", "400"))
    rate = float(os.environ.get("BENCH_SCALE_PAIR_RATE", "110"))
    churn_seconds = float(os.environ.get("BENCH_SCALE_CHURN_SECONDS", "10"))
    cookies = make_guest_sessions(churners)
    redis_proc = _redis_process()
    watch = (redis_proc,) if redis_proc else ()
    logdir = Path(tempfile.mkdtemp(prefix="seendr-bench-scale-"))
    load = os.getloadavg()

    rows = []
    for count in PROCESS_COUNTS:
        if budget.left() < 45:
            rows.append({"servers": count, "skipped": "time budget"})
            continue
        try:
            rows.append(
                run_config(
                    "daphne",
                    "pubsub",
                    hold=[],
                    churn=cookies,
                    churn_rate=rate,
                    idle=1.0,
                    churn_seconds=churn_seconds,
                    ramp_budget=20.0,
                    logdir=logdir,
                    server_count=count,
                    watch=watch,
                )
            )
        except Exception as exc:
            rows.append({"servers": count, "skipped": f"{type(exc).__name__}: {exc}"})

    result = harness.Result(name=NAME, title=TITLE)
    result.setup = [
        f"1, 2 and 4 Daphne processes (pub/sub channel layer) in turn; {churners} churn clients from two "
        f"load-generator processes, spread round robin over the processes' ports, at {rate:.0f} pairs/s "
        f"offered for {churn_seconds:.0f} s each (join -> matched -> offer/answer/ICE -> chat -> next).",
        "Web CPU: all web processes together during the churn (psutil). Redis CPU: the one private Redis "
        "that holds the state and channel roles in this run"
        + ("" if redis_proc else " (not readable here: the Redis is not a local process)")
        + ". Per pair: CPU milliseconds per pair formed.",
        f"Load generators, web processes, Redis and PostgreSQL share the same 2 CPUs; load average at "
        f"the start {load[0]:.2f} (other work on the machine counts against every run alike).",
    ]
    table = []
    for r in rows:
        if "skipped" in r:
            table.append([r["servers"], *([None] * 10), f"not run: {r['skipped'][:120]}"])
            continue
        table.append(
            [
                r["servers"],
                r["pairs_s"],
                r["ttm"]["p50_ms"],
                r["ttm"]["p99_ms"],
                r["relay"]["p50_ms"],
                r["relay"]["p99_ms"],
                r["cpu_churn_cores"],
                per_pair_ms(r["cpu_churn_cores"], r["pairs_s"]),
                r["cpu_churn_watch_cores"] if redis_proc else None,
                per_pair_ms(r["cpu_churn_watch_cores"], r["pairs_s"]) if redis_proc else None,
                r["lost"],
                ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none",
            ]
        )
    result.table(
        "Web processes side by side (same churn)",
        [
            "web processes",
            "pairs/s",
            "time-to-match p50 ms",
            "p99 ms",
            "relay p50 ms",
            "relay p99 ms",
            "web CPU cores",
            "web CPU ms per pair",
            "Redis CPU cores",
            "Redis CPU ms per pair",
            "lost frames",
            "errors",
        ],
        table,
    )
    ran = {r["servers"]: r for r in rows if "skipped" not in r}
    one, four = ran.get(1), ran.get(4)
    if one and four and one["pairs_s"] and four["pairs_s"]:
        result.target(
            TARGETS[0][0], TARGETS[0][1], four["pairs_s"] / one["pairs_s"], "x", None, "same offered rate"
        )
        result.target(
            TARGETS[1][0],
            TARGETS[1][1],
            per_pair_ms(four["cpu_churn_cores"], four["pairs_s"])
            / per_pair_ms(one["cpu_churn_cores"], one["pairs_s"]),
            "x",
            None,
        )
    else:
        result.status = "partial" if ran else "not_measured"
        result.reason = "; ".join(f"{r['servers']}: {r['skipped']}" for r in rows if "skipped" in r)
        for metric, target, unit in TARGETS:
            result.target(metric, target, None, unit, None)
    if ran:
        counts = [str(n) for n in ran]
        result.plot(
            "CPU per pair by web process count",
            "bar",
            "web processes",
            "CPU ms per pair",
            [
                {
                    "label": "web",
                    "x": counts,
                    "y": [per_pair_ms(r["cpu_churn_cores"], r["pairs_s"]) for r in ran.values()],
                },
                {
                    "label": "Redis",
                    "x": counts,
                    "y": [per_pair_ms(r["cpu_churn_watch_cores"], r["pairs_s"]) for r in ran.values()],
                },
            ],
        )
    result.notes.append(f"Server logs of this run were in {logdir.name} (temporary).")
    harness.write_result(result, started)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=150.0)
    sys.exit(main(parser.parse_args().budget))
