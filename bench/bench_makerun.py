"""The issue's `make run` check: the whole app as `make run` starts it (``scripts/run.py``: Daphne,
a Celery worker and beat, development settings) holding 1,000 idle sockets while 100 clients churn
join -> matched -> offer/answer/ICE/chat -> next at a staircase of offered pair rates, the load
generator on the same machine.

What differs from a developer's `make run`, and why:

* the app's data lives under the benchmark's database and a key prefix of its own, on the same
  PostgreSQL and Redis servers, so a developer's data is never read or written;
* the per-network socket cap and the per-identity join, signal and chat limits are lifted, and
  the cooldown between two people is 1 s: every load-generator socket comes from 127.0.0.1, and
  100 clients join, and meet each other again, far faster than people do;
* it serves on a free port, and the load generator's origin is allowed there.

Per step: pairs formed per second, time to match (the initiator's join to the later ``matched``),
relay latency of every signal and chat frame, and the web processes' CPU per pair. The check
passes at the highest offered rate whose pairs/s reach 90 % of the offer with relay p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness, wsload
from bench.bench_liveloop import (
    CHURN_LIMITS_LIFTED,
    baseline_tree,
    churn_staircase,
    drop_tree,
    prefix_for,
    start_server,
    step_columns,
    step_row,
)
from bench.bench_websocket import _free_port, make_guest_sessions, raise_nofile

NAME = "makerun"
TITLE = "`make run` under churn: 1,000 idle sockets + 100 churning clients, load generator beside it"
TARGETS = [
    ("pairs/s formed with relay p99 <= 50 ms, 1,000 idle held", ">= 150 pairs/s", "pairs/s"),
    ("signal relay p99 at that rate", "<= 50 ms", "ms"),
]
RELAY_P99_MS = 50.0


def start_make_run(tree: Path, logdir: Path, label: str) -> tuple[subprocess.Popen, int, list[int]]:
    """``scripts/run.py`` on a free port; returns (run.py, port, the pids of its web processes)."""
    import psutil

    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "seendr.settings",
        "DEBUG": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SEENDR_KEY_PREFIX": prefix_for(label),
        "WEBSOCKET_ALLOWED_ORIGINS": wsload.ORIGIN,
        **CHURN_LIMITS_LIFTED,
    }
    proc = start_server(
        [sys.executable, "scripts/run.py"],
        tree=tree,
        env=env,
        log=logdir / f"make-run-{label}.log",
        port=port,
        timeout=120,
        what="make run",
    )
    deadline = time.monotonic() + 60
    # run.py listens before its web processes are up; they accept from the same socket once ready.
    webs: list[int] = []
    while not webs and time.monotonic() < deadline:
        time.sleep(0.2)
        webs = [c.pid for c in psutil.Process(proc.pid).children() if _is_web(c.cmdline())]
    time.sleep(3.0)
    return proc, port, webs


def _is_web(cmdline: list[str]) -> bool:
    """A web process of run.py: ``seendr.serve``, or ``daphne`` in trees from before it."""
    return "-m" in cmdline and bool({"seendr.serve", "daphne"} & set(cmdline))


def passes(step: dict) -> bool:
    p99 = step["relay"]["p99_ms"]
    return step["pairs_s"] >= 0.9 * step["rate"] and p99 is not None and p99 <= RELAY_P99_MS


def main(budget_s: float) -> int:
    started = time.monotonic()
    raise_nofile()
    harness.django_setup()
    workdir = Path(tempfile.mkdtemp(prefix="seendr-bench-makerun-"))
    idle_n = int(os.environ.get("BENCH_MAKERUN_IDLE", "1000"))
    churn_n = int(os.environ.get("BENCH_MAKERUN_CHURNERS", "100"))
    step_s = float(os.environ.get("BENCH_MAKERUN_STEP_SECONDS", "10"))
    rates = [float(x) for x in os.environ.get("BENCH_MAKERUN_RATES", "100,150,200,250,300,350").split(",")]
    from django.conf import settings

    baseline = os.environ.get("BENCH_MAKERUN_BASELINE", "")
    trees = {"after": harness.ROOT}
    before_tree = baseline_tree(workdir, baseline) if baseline else None
    if before_tree is not None:
        trees["before"] = before_tree
    runs = {}
    try:
        for label, tree in trees.items():
            run_prefix, settings.SEENDR_KEY_PREFIX = settings.SEENDR_KEY_PREFIX, prefix_for(label)
            try:
                cookies = make_guest_sessions(idle_n + churn_n)
            finally:
                settings.SEENDR_KEY_PREFIX = run_prefix
            runs[label] = churn_staircase(
                tree,
                label,
                hold=cookies[churn_n:],
                churn=cookies[:churn_n],
                rates=rates,
                step_s=step_s,
                logdir=workdir,
                start=start_make_run,
            )
    finally:
        if before_tree is not None:
            drop_tree(before_tree)
    run = runs["after"]

    result = harness.Result(name=NAME, title=TITLE)
    result.setup = [
        "The app as `make run` starts it (scripts/run.py: Daphne, a Celery worker with concurrency 2 "
        "and beat; development settings, DEBUG on) on a free port, with the benchmark's database and "
        "key prefix, the per-network socket cap and the join/signal/chat limits lifted.",
        f"{idle_n:,} idle sockets held (ping every 20 s) + {churn_n} churn clients (join -> matched -> "
        "offer, 2 ICE, chat each way -> next), two load-generator processes on the same machine; offered "
        f"pair rates {', '.join(f'{r:.0f}' for r in rates)} for {step_s:.0f} s each, after an unmeasured "
        "3 s warm-up at the first rate. A step passes when "
        f"pairs/s reach 90 % of the offer with relay p99 <= {RELAY_P99_MS:.0f} ms. CPU: the web "
        f"processes ({os.environ.get('WEB_PROCESSES') or 'one per core'}) over the step minus their "
        "idle CPU, divided by pairs formed.",
        f"Load at the start of the run (1/5/15 min): {', '.join(f'{x:.2f}' for x in harness.LOAD_AT_START)} "
        "on 2 cores.",
    ]
    if before_tree is not None:
        result.setup.append(
            f"Before: commit {baseline[:10]} (a git worktree), run the same way after this tree."
        )
    result.table(
        f"Churn staircase against `make run`, {run['held']:,} idle held",
        [*step_columns("web cores"), "check", "errors"],
        [
            [
                *step_row(label, s),
                "pass" if passes(s) else "FAIL",
                ", ".join(f"{k}: {v}" for k, v in sorted(s["errors"].items())) or "none",
            ]
            for label, one in runs.items()
            for s in one["steps"]
        ],
    )
    best = max((s for s in run["steps"] if passes(s)), key=lambda s: s["pairs_s"], default=None)
    pairs = best["pairs_s"] if best else 0.0
    result.target(TARGETS[0][0], TARGETS[0][1], pairs, "pairs/s", pairs >= 150.0, "best passing step")
    relay = best["relay"]["p99_ms"] if best else None
    result.target(TARGETS[1][0], TARGETS[1][1], relay, "ms", relay is not None and relay <= RELAY_P99_MS)
    if run["profile"]:
        result.notes.append(
            "py-spy of the first web process during the top step, functions by own time:\n" + run["profile"]
        )
    harness.write_result(result, started)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=240.0)
    main(parser.parse_args().budget)
