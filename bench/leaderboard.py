"""Leaderboard benchmark: one board of 1,000,000 members on the loopback Redis.

    .venv/bin/python -m bench.leaderboard [--budget 70] [--members 1000000]

Measures, against the real code path:

* load: 1,000,000 members written with pipelined ZADD batches (10,000 members per ZADD);
* read: ``leaderboard.selectors.top`` (one ``top.lua`` round trip: top 100 + the viewer's rank,
  score and +-2 neighbours, then one profile-cache read of the names of those rows), median and
  p99 over many calls, and the bare Lua round trip for comparison;
* write: pipelined ZINCRBY throughput (1,000 per pipeline), and the service path of one event
  (``services._increment``: ZINCRBY on day/week/all + EXPIREAT, one MULTI) per second.

Bounded: every loop stops at a count or the time budget, whichever comes first. Isolated: its own
key prefix and a scratch database (see ``bench/harness.py``); everything is removed at the end.
The 100 top rows and the viewer's neighbours are real accounts (their names come through the
profile cache); the other members are ids of no account, ranked below or between them.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a file, Python would put bench/ first on the path and this module would shadow the
# ``leaderboard`` app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

STANDALONE = os.environ.get("SEENDR_BENCH_READY") != "1"
if STANDALONE:
    os.environ.setdefault("SEENDR_BENCH_DB", f"seendr_bench_lb{os.getpid()}")

from bench import harness  # noqa: E402

NAME = "leaderboard"
TITLE = "Leaderboard: 1,000,000 members"
TARGETS = [
    ("top-100 + my rank p50", "<= 2 ms", "ms"),
    ("ZINCRBY pipelined", "reported", "ops/s"),
]
ZADD_BATCH = 10_000
ZINCRBY_PIPELINE = 1_000
REAL_TOP = 100
SYNTHETIC_BASE = 10**9  # member ids of no account


def _load(client, key: str, members: int, budget: harness.Budget) -> tuple[int, float]:
    from leaderboard import boards

    rng = random.Random(1)
    started = time.perf_counter()
    written = 0
    pipe = client.pipeline(transaction=False)
    queued = 0
    while written < members and budget.left() > 20:
        n = min(ZADD_BATCH, members - written)
        pipe.zadd(
            key,
            {boards.member(SYNTHETIC_BASE + written + i): rng.randint(1, 1_000_000) for i in range(n)},
        )
        written += n
        queued += 1
        if queued == 10:
            pipe.execute()
            queued = 0
    if queued:
        pipe.execute()
    return written, time.perf_counter() - started


def _real_users(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from profiles.models import Profile

    User = get_user_model()
    stamp = os.getpid()
    User.objects.bulk_create([User(username=f"lbbench{stamp}_{i}", password="!") for i in range(count)])
    ids = list(
        User.objects.filter(username__startswith=f"lbbench{stamp}_")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Profile.objects.bulk_create([Profile(user_id=pk, display_name=f"Bench player {pk}") for pk in ids])
    return ids


def main(budget_s: float, members: int) -> int:
    started = time.monotonic()
    harness.django_setup()
    budget = harness.Budget(budget_s)

    from django.utils import timezone

    from leaderboard import boards, selectors, services
    from seendr import keys
    from seendr.redis_state import lua, state

    client = state()
    now = timezone.now()
    key = keys.leaderboard("likes", "week", boards.bucket_for("week", now).name)
    client.unlink(key)

    # Real accounts: the top 100, and a viewer with two neighbours on each side mid-board.
    real = _real_users(REAL_TOP + 5)
    top_ids, middle_ids = real[:REAL_TOP], real[REAL_TOP:]
    loaded, load_s = _load(client, key, members - len(real), budget)
    client.zadd(key, {boards.member(uid): 2_000_000 + i for i, uid in enumerate(top_ids)})
    # Scores strictly between two integers keep the five together around rank ~500,000.
    client.zadd(key, {boards.member(uid): 500_000.1 + i / 10 for i, uid in enumerate(middle_ids)})
    viewer = middle_ids[2]
    size = client.zcard(key)
    memory = client.memory_usage(key) or 0
    print(f"loaded {size:,} members in {load_s:.2f} s ({loaded / load_s:,.0f} ZADD members/s)", flush=True)

    # Read path: selectors.top, names through the profile cache (warmed by the first call).
    first = selectors.top(board="likes", period="week", now=now, limit=100, viewer_user_id=viewer)
    assert len(first["entries"]) == 100 and first["me"]["rank"] is not None, first["me"]
    assert len(first["me"]["around"]) == 5
    read_lat: list[float] = []
    read_deadline = min(20.0, budget.left() / 3)
    t_end = time.monotonic() + read_deadline
    while len(read_lat) < 5000 and time.monotonic() < t_end:
        t0 = time.perf_counter()
        selectors.top(board="likes", period="week", now=now, limit=100, viewer_user_id=viewer)
        read_lat.append(time.perf_counter() - t0)
    lua_lat: list[float] = []
    script = lua("leaderboard", "top")
    t_end = time.monotonic() + min(5.0, budget.left() / 4)
    while len(lua_lat) < 5000 and time.monotonic() < t_end:
        t0 = time.perf_counter()
        script.run(client, [key], [100, boards.member(viewer), 2])
        lua_lat.append(time.perf_counter() - t0)
    read = harness.summary_ms(read_lat)
    bare = harness.summary_ms(lua_lat)
    print(f"top-100 + my rank via selectors.top: {read}", flush=True)
    print(f"top.lua round trip only:            {bare}", flush=True)

    # Write path: pipelined ZINCRBY on the same 1M board.
    rng = random.Random(2)
    ops = 0
    t_end = time.monotonic() + min(8.0, budget.left() / 3)
    t0 = time.perf_counter()
    while ops < 2_000_000 and time.monotonic() < t_end:
        pipe = client.pipeline(transaction=False)
        for _ in range(ZINCRBY_PIPELINE):
            pipe.zincrby(key, 1, boards.member(SYNTHETIC_BASE + rng.randrange(loaded)))
        pipe.execute()
        ops += ZINCRBY_PIPELINE
    zincr_s = time.perf_counter() - t0
    zincr_rate = ops / zincr_s
    print(f"pipelined ZINCRBY: {ops:,} in {zincr_s:.2f} s = {zincr_rate:,.0f} ops/s", flush=True)

    # Service path: one like = one MULTI (3 ZINCRBY + 2 EXPIREAT), not pipelined across events.
    events = 0
    event_lat: list[float] = []
    t_end = time.monotonic() + min(5.0, budget.left() / 3)
    while events < 20_000 and time.monotonic() < t_end:
        uid = SYNTHETIC_BASE + rng.randrange(loaded)
        t0 = time.perf_counter()
        services._increment(board="likes", amounts={uid: 1}, when=now, now=now)
        event_lat.append(time.perf_counter() - t0)
        events += 1
    event_rate = events / sum(event_lat) if event_lat else 0.0
    event = harness.summary_ms(event_lat)
    print(f"service increment (one event, MULTI of 5): {event_rate:,.0f} events/s, {event}", flush=True)

    result = harness.Result(name=NAME, title=TITLE)
    result.setup = [
        f"one sorted set of {size:,} members (zero-padded ids), loaded with pipelined ZADD of "
        f"{ZADD_BATCH:,} members per command; Redis and PostgreSQL on loopback",
        f"read: leaderboard.selectors.top(limit=100, viewer mid-board): top.lua (ZREVRANGE 0 99, "
        f"ZREVRANK, ZSCORE, ZREVRANGE window) + one profile-cache read of the {REAL_TOP + 5} names, "
        f"{read['n']:,} calls after one warm-up call",
        f"write: ZINCRBY in pipelines of {ZINCRBY_PIPELINE:,} (no MULTI) on random members; "
        "and services._increment, one MULTI per event, sequential",
    ]
    result.target("top-100 + my rank p50", "<= 2 ms", read["p50_ms"], "ms", (read["p50_ms"] or 1e9) <= 2.0)
    result.target("ZINCRBY pipelined", "reported", round(zincr_rate), "ops/s", True)
    result.table(
        "Latency (ms)",
        ["operation", "n", "p50", "p90", "p99", "max"],
        [
            [
                "selectors.top: top 100 + my rank + names",
                read["n"],
                read["p50_ms"],
                read["p90_ms"],
                read["p99_ms"],
                read["max_ms"],
            ],
            [
                "top.lua round trip only",
                bare["n"],
                bare["p50_ms"],
                bare["p90_ms"],
                bare["p99_ms"],
                bare["max_ms"],
            ],
            [
                "services._increment (one like)",
                event["n"],
                event["p50_ms"],
                event["p90_ms"],
                event["p99_ms"],
                event["max_ms"],
            ],
        ],
    )
    result.table(
        "Throughput",
        ["operation", "count", "seconds", "per second"],
        [
            ["ZADD load (pipelined, 10k members per ZADD)", loaded, round(load_s, 2), round(loaded / load_s)],
            ["ZINCRBY (pipelines of 1,000)", ops, round(zincr_s, 2), round(zincr_rate)],
            ["service increments (sequential MULTI)", events, round(sum(event_lat), 2), round(event_rate)],
        ],
    )
    result.notes.append(f"MEMORY USAGE of the 1M-member key (sampled): {memory / 2**20:,.1f} MiB")
    if STANDALONE:
        harness.print_result(result)
    else:
        harness.write_result(result, started)
    client.unlink(key)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=70.0)
    parser.add_argument("--members", type=int, default=1_000_000)
    options = parser.parse_args()
    if STANDALONE:
        harness.bench_env()
        harness.prepare_database(fresh=True)
    try:
        code = main(options.budget, options.members)
    finally:
        if STANDALONE:
            harness.delete_bench_keys()
            harness.drop_database()
    sys.exit(code)
