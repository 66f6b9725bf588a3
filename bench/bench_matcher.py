"""Matcher benchmark: the production pool (``matching.pool.join`` + ``match.lua``) against a
PostgreSQL ``FOR UPDATE SKIP LOCKED`` implementation of the same rules (``bench/pg_matcher.py``).

Workload (identical for both): several client processes (multiprocessing, asyncio inside, many
concurrent joiners each) join fresh virtual users as fast as they can for a fixed window. Every
user has the language "en" and three interests out of a vocabulary of 30, so most joins pair at
once at the interest stage and a few wait. Rules are live on both sides: every user blocks the
next user of its process, and has the one after that as a recent partner (cooldown), both
seeded before the window; the identities that meet in the window are exactly those neighbours
most of the time, so the checks do reject candidates.

Then a curve: one sequential client measures join latency while 10, 1,000 and 100,000 users wait
(fillers with a tag of their own, so they never pair among themselves): a join that pairs with a
named filler (then one filler is added back) and a join that queues (then leaves).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

NAME = "matcher"
TITLE = "Matcher: Redis Lua pool vs PostgreSQL SKIP LOCKED"
VOCAB = [f"topic{i}" for i in range(30)]
TARGETS = [
    ("Redis pool throughput", ">= 5,000 pairs/s (10,000 joins/s)", "pairs/s"),
    ("Redis vs PostgreSQL, same rules", ">= 5x", "x"),
    ("join p50 at 100,000 waiting vs 10 waiting", "within 2x (flat)", "x"),
]


def _ident(tag: str, proc: int, n: int) -> str:
    return f"g{tag}{proc}x{n}"


def _interests(rng: random.Random) -> list[str]:
    return sorted(rng.sample(VOCAB, 3))


def _rules(tag: str, proc: int, count: int, now: float):
    """Blocks (n blocks n+1) and cooldowns (n and n+2 met recently) of one process's users."""
    blocks = [(_ident(tag, proc, n), _ident(tag, proc, n + 1)) for n in range(count)]
    recent = []
    for n in range(count):
        a, b = _ident(tag, proc, n), _ident(tag, proc, n + 2)
        recent += [(a, b, now), (b, a, now)]
    return blocks, recent


# --- Worker processes -----------------------------------------------------------------------------


def _worker(
    impl: str, proc: int, coros: int, max_joins: int, seconds: float, start, ready, out, tag: str
) -> None:
    try:
        harness.django_setup()
        out.put(asyncio.run(_worker_main(impl, proc, coros, max_joins, seconds, start, ready, tag)))
    except BaseException as exc:
        out.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


async def _seed_redis(tag: str, proc: int, count: int, now: float) -> None:
    from seendr import keys
    from seendr.redis_state import astate

    client = astate()
    blocks, recent = _rules(tag, proc, count, now)
    for i in range(0, count, 5000):
        pipe = client.pipeline(transaction=False)
        for a, b in blocks[i : i + 5000]:
            pipe.sadd(keys.blocks(a), b)
            pipe.expire(keys.blocks(a), 3600)
        for a, b, at in recent[2 * i : 2 * (i + 5000)]:
            pipe.set(keys.recent_partners(a), f";{b}={at!r}", ex=3600)
        await pipe.execute()


async def _worker_main(
    impl: str, proc: int, coros: int, max_joins: int, seconds: float, start, ready, tag: str
) -> dict:
    rng = random.Random(proc * 7919 + 17)
    seed_now = time.time()
    if impl == "redis":
        from matching import pool
        from matching.types import Matched, Preferences

        await _seed_redis(tag, proc, max_joins + 3, seed_now)
        lang = "en"

        async def join_one(ident: str, interests: list[str]) -> bool:
            prefs = Preferences(interests=tuple(interests), lang=lang)
            outcome = await pool.join(
                identity_id=ident, prefs=prefs, channel_name=f"bench.{ident}", now=time.time()
            )
            return isinstance(outcome, Matched)

        closers = []
    else:
        import psycopg

        from bench import pg_matcher

        dsn = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        blocks, recent = _rules(tag, proc, max_joins + 3, seed_now)
        with psycopg.connect(dsn) as conn:
            pg_matcher.seed_rules(conn, blocks=blocks, recent=recent)
        matchers = [await pg_matcher.AsyncPgMatcher.connect(dsn, _cooldown()) for _ in range(coros)]
        closers = [m.close for m in matchers]
        free = list(matchers)

        async def join_one(ident: str, interests: list[str]) -> bool:
            m = free.pop()
            try:
                return (
                    await m.join(
                        identity_id=ident,
                        interests=interests,
                        lang="en",
                        channel=f"bench.{ident}",
                        now=time.time(),
                    )
                    is not None
                )
            finally:
                free.append(m)

    counter = iter(range(max_joins))
    lat = array.array("d")
    pairs = 0
    errors = 0
    # Seeding and connecting are done: report ready, then start with the others at one instant.
    ready.set()
    waited = time.monotonic()
    while start.value <= 0 and time.monotonic() - waited < 300:
        await asyncio.sleep(0.01)
    delay = start.value - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    t_start = time.perf_counter()
    deadline = t_start + seconds

    async def run() -> None:
        nonlocal pairs, errors
        for n in counter:
            if time.perf_counter() >= deadline:
                break
            ident = _ident(tag, proc, n)
            interests = _interests(rng)
            t0 = time.perf_counter()
            try:
                matched = await join_one(ident, interests)
            except Exception:
                errors += 1
                continue
            lat.append(time.perf_counter() - t0)
            pairs += matched

    await asyncio.gather(*(run() for _ in range(coros)))
    elapsed = time.perf_counter() - t_start
    for close in closers:
        await close()
    return {
        "joins": len(lat),
        "pairs": pairs,
        "errors": errors,
        "elapsed": elapsed,
        "lat": lat.tobytes(),
        "pid": os.getpid(),
    }


def _cooldown() -> float:
    from django.conf import settings

    return float(settings.MATCH_COOLDOWN_SECONDS)


def _redis_cpu_seconds() -> float:
    from seendr.redis_state import state

    info = state().info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _postgres_cpu_seconds() -> float | None:
    """CPU seconds used so far by every PostgreSQL server process of this machine (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm in ("postgres", "postmaster"):
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks if total else None


def _evalsha_totals() -> tuple[int, float] | None:
    """(calls, microseconds) of EVALSHA on the state Redis so far (INFO commandstats)."""
    from seendr.redis_state import state

    entry = state().info("commandstats").get("cmdstat_evalsha")
    return (int(entry["calls"]), float(entry["usec"])) if entry else None


def throughput(
    impl: str, procs: int, coros: int, seconds: float, max_joins: int, tag: str, profile: bool = False
) -> dict:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    start = ctx.Value("d", 0.0)
    ready = [ctx.Event() for _ in range(procs)]
    workers = [
        ctx.Process(target=_worker, args=(impl, p, coros, max_joins, seconds, start, ready[p], out, tag))
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    for r in ready:
        r.wait(timeout=180)
    start_at = time.time() + 0.5
    start.value = start_at
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = _redis_cpu_seconds() if impl == "redis" else _postgres_cpu_seconds()
    calls_before = _evalsha_totals() if impl == "redis" else None
    prof = ""
    if profile:
        time.sleep(1.0)
        prof = harness.pyspy_summary(workers[0].pid, min(4.0, seconds - 3))
    time.sleep(max(0.0, start_at + seconds - time.time()))
    cpu_after = _redis_cpu_seconds() if impl == "redis" else _postgres_cpu_seconds()
    calls_after = _evalsha_totals() if impl == "redis" else None
    results = [out.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError("; ".join(errors))
    lat: list[float] = []
    for r in results:
        a = array.array("d")
        a.frombytes(r["lat"])
        lat.extend(a)
    elapsed = max(r["elapsed"] for r in results)
    joins = sum(r["joins"] for r in results)
    pairs = sum(r["pairs"] for r in results)
    row = {
        "impl": impl,
        "procs": procs,
        "coros": coros,
        "joins": joins,
        "pairs": pairs,
        "errors": sum(r["errors"] for r in results),
        "elapsed": elapsed,
        "joins_s": joins / elapsed if elapsed else 0.0,
        "pairs_s": pairs / elapsed if elapsed else 0.0,
        **harness.summary_ms(lat),
        "profile": prof,
    }
    if cpu_before is not None and cpu_after is not None:
        row["server_cpu_s"] = cpu_after - cpu_before
    if calls_before and calls_after and calls_after[0] > calls_before[0]:
        row["evalsha_us"] = (calls_after[1] - calls_before[1]) / (calls_after[0] - calls_before[0])
    return row


# --- Latency curve ---------------------------------------------------------------------------------


async def _curve(levels: list[int], samples: int, budget: harness.Budget) -> list[dict]:
    from matching import pool, presence
    from matching.types import Matched, Preferences, Queued

    fill_counter = iter(range(10**9))
    fillers: list[str] = []  # filler tags still waiting
    tag = f"c{os.getpid()}"

    async def add_fillers(k: int) -> None:
        async def one(n: int) -> None:
            ftag = f"f{tag}x{n}"
            prefs = Preferences(interests=(ftag,), lang="en")
            res = await pool.join(
                identity_id=f"g{ftag}", prefs=prefs, channel_name=f"bench.{ftag}", now=time.time()
            )
            if isinstance(res, Queued):
                fillers.append(ftag)

        sem = asyncio.Semaphore(64)

        async def guarded(n: int) -> None:
            async with sem:
                await one(n)

        batch = 2000
        for i in range(0, k, batch):
            if not budget:
                return
            await asyncio.gather(*(guarded(next(fill_counter)) for _ in range(min(batch, k - i))))

    rows = []
    rng = random.Random(5)
    for level in levels:
        await add_fillers(level - len(fillers))
        if len(fillers) < level:
            rows.append({"waiting": level, "note": f"filled only {len(fillers)} in the time budget"})
            break
        matched_lat: list[float] = []
        queued_lat: list[float] = []
        wrong = 0
        for i in range(samples):
            if not budget:
                break
            target = fillers.pop(rng.randrange(len(fillers)))
            ident = f"gm{tag}x{level}x{i}"
            prefs = Preferences(interests=(target, "zz-none"), lang="en")
            t0 = time.perf_counter()
            res = await pool.join(
                identity_id=ident, prefs=prefs, channel_name=f"bench.{ident}", now=time.time()
            )
            matched_lat.append(time.perf_counter() - t0)
            if not isinstance(res, Matched) or res.pairing.partner_id != f"g{target}":
                wrong += 1
            q_ident = f"gq{tag}x{level}x{i}"
            prefs = Preferences(interests=(f"q{tag}x{level}x{i}",), lang="en")
            t0 = time.perf_counter()
            res = await pool.join(
                identity_id=q_ident, prefs=prefs, channel_name=f"bench.{q_ident}", now=time.time()
            )
            queued_lat.append(time.perf_counter() - t0)
            await pool.leave_pool(identity_id=q_ident)
            await add_fillers(1)
        counts = await asyncio.to_thread(presence.pool_counts)
        rows.append(
            {
                "waiting": level,
                "waiting_seen": counts.get("waiting"),
                "wrong": wrong,
                "matched": harness.summary_ms(matched_lat),
                "queued": harness.summary_ms(queued_lat),
            }
        )
    return rows


# --- Main ---------------------------------------------------------------------------------------


def main(budget_s: float) -> int:
    started = time.monotonic()
    harness.django_setup()
    try:
        from matching import pool
        from matching.types import Preferences

        Preferences(interests=("a",), lang="en")
        asyncio.run(_probe(pool))
    except Exception as exc:
        harness.not_measured(
            NAME, TITLE, f"matching.pool is not usable yet ({type(exc).__name__}: {exc})", started, TARGETS
        )
        return 0

    import psycopg

    from bench import pg_matcher

    dsn = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        pg_matcher.create_schema(conn)

    budget = harness.Budget(budget_s)
    procs = int(os.environ.get("BENCH_MATCHER_PROCS", "3"))
    coros = int(os.environ.get("BENCH_MATCHER_COROS", "16"))
    window = float(os.environ.get("BENCH_MATCHER_SECONDS", "10"))
    max_joins = int(os.environ.get("BENCH_MATCHER_MAX_JOINS", "60000"))
    levels = [int(x) for x in os.environ.get("BENCH_MATCHER_LEVELS", "10,1000,100000").split(",")]
    samples = int(os.environ.get("BENCH_MATCHER_SAMPLES", "1000"))

    result = harness.Result(name=NAME, title=TITLE)
    result.setup = [
        f"{procs} client processes x {coros} concurrent joiners (asyncio), a {window:.0f} s window per "
        f"implementation (at most {max_joins:,} joins per process), fresh users with lang 'en' and 3 of "
        f"{len(VOCAB)} interests; blocks and cooldowns seeded for every user (n blocks n+1; n and n+2 "
        "met recently).",
        "Redis: `matching.pool.join` (the consumer's call) running `matching/lua/match.lua` on the state "
        "Redis. PostgreSQL: `bench/pg_matcher.py`, one PL/pgSQL call per join, `FOR UPDATE SKIP LOCKED`, "
        "GIN index on interests, UNLOGGED tables, `synchronous_commit=off`.",
        f"Curve: one sequential client, {samples:,} joins that pair with a named waiting user and "
        f"{samples:,} that queue (then leave), at each pool size {', '.join(f'{x:,}' for x in levels)}.",
        "Client processes, Redis and PostgreSQL share the same 2 CPUs.",
    ]
    rows = {}
    for impl in ("redis", "postgres"):
        rows[impl] = throughput(
            impl, procs, coros, window, max_joins, f"{impl[0]}{os.getpid()}", profile=(impl == "redis")
        )
    redis_row, pg_row = rows["redis"], rows["postgres"]
    evalsha_us = redis_row.get("evalsha_us")
    result.table(
        "Throughput (same workload, same rules, side by side)",
        ["implementation", "joins/s", "pairs/s", "join p50 ms", "join p99 ms", "joins", "errors"],
        [
            [r["impl"], r["joins_s"], r["pairs_s"], r["p50_ms"], r["p99_ms"], r["joins"], r["errors"]]
            for r in (redis_row, pg_row)
        ],
    )
    ratio = redis_row["pairs_s"] / pg_row["pairs_s"] if pg_row["pairs_s"] else None
    result.target(
        "Redis pool throughput",
        TARGETS[0][1],
        redis_row["pairs_s"],
        "pairs/s",
        redis_row["pairs_s"] >= 5000,
        f"{redis_row['joins_s']:,.0f} joins/s",
    )
    result.target(
        "Redis vs PostgreSQL, same rules",
        ">= 5x",
        ratio,
        "x",
        ratio is not None and ratio >= 5,
        f"PostgreSQL {pg_row['pairs_s']:,.0f} pairs/s",
    )
    cpu_rows = []
    for r in (redis_row, pg_row):
        if r.get("server_cpu_s") and r["joins"]:
            cpu_rows.append(
                [r["impl"], r["server_cpu_s"] / r["elapsed"], 1e6 * r["server_cpu_s"] / r["joins"]]
            )
    if cpu_rows:
        result.table(
            "Server CPU during the window (psutil / INFO cpu)",
            ["implementation", "server cores busy", "server CPU µs per join"],
            cpu_rows,
        )
    result.notes.append(
        "Where the time goes: "
        + (
            f"EVALSHA of match.lua costs {evalsha_us:.0f} µs inside Redis (INFO commandstats), so one Redis "
            f"core could serve ~{1e6 / evalsha_us:,.0f} joins/s; "
            if evalsha_us
            else ""
        )
        + "the client processes (one round trip per join through redis-py's asyncio client) use the rest of "
        "the 2 cores — see the profile below. PostgreSQL CPU counts every postgres process of the shared "
        "server (indicative only)."
    )

    curve_budget = harness.Budget(max(20.0, budget.left() - 5))
    curve = asyncio.run(_curve(levels, samples, curve_budget))
    curve_rows = []
    for c in curve:
        if "matched" not in c:
            curve_rows.append([c["waiting"], None, None, None, None, c.get("note", "")])
            continue
        curve_rows.append(
            [
                c["waiting"],
                c["matched"]["p50_ms"],
                c["matched"]["p99_ms"],
                c["queued"]["p50_ms"],
                c["queued"]["p99_ms"],
                f"{c['matched']['n']:,} samples each, {c['wrong']} unexpected",
            ]
        )
    result.table(
        "Join latency vs users waiting (one sequential client)",
        [
            "users waiting",
            "pairing join p50 ms",
            "pairing p99 ms",
            "queuing join p50 ms",
            "queuing p99 ms",
            "note",
        ],
        curve_rows,
    )
    full = [c for c in curve if "matched" in c]
    if len(full) >= 2 and full[0]["waiting"] == levels[0] and full[-1]["waiting"] == levels[-1]:
        worst = max(
            full[-1]["matched"]["p50_ms"] / full[0]["matched"]["p50_ms"],
            full[-1]["queued"]["p50_ms"] / full[0]["queued"]["p50_ms"],
        )
        result.target(
            TARGETS[2][0],
            TARGETS[2][1],
            worst,
            "x",
            worst <= 2.0,
            "larger of the pairing and queuing p50 ratios",
        )
    else:
        result.target(
            TARGETS[2][0], TARGETS[2][1], None, "x", None, "the largest pool size did not fit the budget"
        )
        result.status = "partial"
    result.plot(
        "Throughput, same workload",
        "bar",
        "",
        "pairs per second",
        [
            {
                "label": "pairs/s",
                "x": ["Redis (Lua)", "PostgreSQL"],
                "y": [redis_row["pairs_s"], pg_row["pairs_s"]],
            }
        ],
    )
    result.plot(
        "Join latency vs pool size",
        "line",
        "users waiting",
        "ms",
        [
            {
                "label": "pairing p50",
                "x": [c["waiting"] for c in full],
                "y": [c["matched"]["p50_ms"] for c in full],
            },
            {
                "label": "pairing p99",
                "x": [c["waiting"] for c in full],
                "y": [c["matched"]["p99_ms"] for c in full],
            },
            {
                "label": "queuing p50",
                "x": [c["waiting"] for c in full],
                "y": [c["queued"]["p50_ms"] for c in full],
            },
        ],
        logx=True,
    )
    if redis_row.get("profile"):
        result.profile = (
            "py-spy, one Redis client process during the window, functions by own time:\n"
            + redis_row["profile"]
        )
    harness.write_result(result, started)
    return 0


async def _probe(pool) -> None:
    """Fail fast (NotImplementedError) if the pool is still a stub."""
    from matching.types import Preferences

    ident = f"gprobe{os.getpid()}"
    await pool.join(
        identity_id=ident,
        prefs=Preferences(interests=("probe",), lang="en"),
        channel_name="bench.probe",
        now=time.time(),
    )
    await pool.leave_pool(identity_id=ident)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=110.0)
    sys.exit(main(parser.parse_args().budget))
