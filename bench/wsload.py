"""The WebSocket load generator: asyncio + the ``websockets`` library, loopback only, bounded.

One process (``run_process``) opens its share of held connections (round robin over the server
URLs), keeps each alive with application heartbeats (``{"type":"ping"}`` -> ``pong``), and runs
churn clients that go join -> matched -> offer/answer/ICE (``signal``) -> chat -> next, as the
chat page does. Every loop is bounded by a deadline and a count.

Timestamps are ``time.monotonic()``, which on Linux is one clock for every process of the
machine, so the orchestrator can join both sides of a match by match id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

ORIGIN = "http://127.0.0.1:8000"  # allowed by seendr.settings_test
SIGNALS_PER_SIDE = 4  # offer|answer, 2 ICE candidates, 1 chat line


@dataclass
class Stats:
    connect_ok: int = 0
    connect_failed: int = 0
    connect_seconds: list[float] = field(default_factory=list)
    pings: int = 0
    pongs: int = 0
    closed_early: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    relay: list[float] = field(default_factory=list)
    sent_relay: int = 0
    lost_relay: int = 0
    joins: int = 0
    # match id -> {"join": t of the join/next that formed it (initiator), "a": matched at initiator,
    #              "b": matched at the other side}
    matches: dict[str, dict[str, float]] = field(default_factory=dict)
    queued_waits: list[float] = field(default_factory=list)
    held_at_end: int = 0

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


class Conn:
    def __init__(self, url: str, cookie: str, stats: Stats) -> None:
        self.url = url
        self.cookie = cookie
        self.stats = stats
        self.ws = None
        self.queue: asyncio.Queue = asyncio.Queue()
        self.reader: asyncio.Task | None = None
        self.open = False

    async def connect(self, timeout: float) -> bool:
        from websockets.asyncio.client import connect

        t0 = time.monotonic()
        try:
            self.ws = await asyncio.wait_for(
                connect(
                    self.url,
                    origin=ORIGIN,
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=timeout,
                    ping_interval=None,
                    close_timeout=2,
                    max_queue=64,
                ),
                timeout,
            )
            self.open = True
            self.reader = asyncio.create_task(self._read())
            hello = await self.expect({"hello"}, timeout)
            if hello is None:
                raise TimeoutError("no hello")
        except Exception as exc:
            self.stats.connect_failed += 1
            self.stats.error(f"connect:{type(exc).__name__}")
            await self.close()
            return False
        self.stats.connect_ok += 1
        self.stats.connect_seconds.append(time.monotonic() - t0)
        return True

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "online":
                    continue
                if kind == "pong":
                    self.stats.pongs += 1
                    continue
                if kind == "error":
                    self.stats.error(str(frame.get("code")))
                frame["_t"] = time.monotonic()
                self.queue.put_nowait(frame)
        except Exception:
            pass
        finally:
            self.open = False
            self.queue.put_nowait({"type": "_closed", "_t": time.monotonic()})

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame, separators=(",", ":")))

    async def expect(self, types: set[str], timeout: float) -> dict | None:
        """The next frame of one of ``types`` (others are dropped); None on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                frame = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                return None
            if frame["type"] in types:
                return frame
            if frame["type"] == "_closed":
                return None

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 3)
        if self.reader is not None:
            self.reader.cancel()
        self.open = False


async def _heartbeat(conn: Conn, interval: float, until: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, interval))
    while time.monotonic() < until and conn.open:
        with contextlib.suppress(Exception):
            await conn.send({"type": "ping"})
            conn.stats.pings += 1
        await asyncio.sleep(interval)


class TokenBucket:
    """Paces joins at ``rate`` per second. A slot no client was free to take is kept for up to
    ``burst_seconds`` (then lost): clients are only free between calls, and without that credit
    every moment none was free cut the offered rate (to about three quarters of it at 175/s)."""

    def __init__(self, rate: float, burst_seconds: float = 0.25) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.burst = burst_seconds
        self.next = time.monotonic()

    async def take(self) -> None:
        now = time.monotonic()
        wait = self.next - now
        self.next = max(self.next, now - self.burst) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)


async def _churn_client(conn: Conn, tag: str, bucket: TokenBucket, until: float, stats: Stats) -> None:
    """join -> matched -> signals -> chat -> next (initiator) / partner_left -> join (other side).

    Only the explicit joins take a token: each pair's initiator re-joins with ``next`` and each
    other side with ``join``, so pairs formed per second equal the bucket's rate.
    """
    need_join = True
    t_join = 0.0
    while time.monotonic() < until and conn.open:
        if need_join:
            await bucket.take()
            if time.monotonic() >= until:
                break
            t_join = time.monotonic()
            await conn.send({"type": "join", "interests": [tag]})
            stats.joins += 1
        frame = await conn.expect({"matched", "queued", "error"}, max(0.1, until - time.monotonic() + 5))
        if frame is None:
            break
        if frame["type"] == "error":
            need_join = True
            await asyncio.sleep(0.5)
            continue
        if frame["type"] == "queued":
            frame = await conn.expect({"matched"}, max(0.1, until - time.monotonic() + 5))
            if frame is None:
                break
            stats.queued_waits.append(frame["_t"] - t_join)
            rec = stats.matches.setdefault(frame["match_id"], {})
            rec["b"] = frame["_t"]
        else:
            rec = stats.matches.setdefault(frame["match_id"], {})
            if frame.get("initiator"):
                rec["join"] = t_join
                rec["a"] = frame["_t"]
            else:
                rec["b"] = frame["_t"]
        initiator = bool(frame.get("initiator"))
        mid = frame["match_id"]
        # The call: each side sends its 4 frames; the responder starts when the offer arrives.
        got = 0
        if initiator:
            await _send_signals(conn, mid, "offer", stats)
        deadline = time.monotonic() + 5.0
        sent = initiator
        ended_early = False
        while got < SIGNALS_PER_SIDE:
            f = await conn.expect({"signal", "chat", "partner_left"}, max(0.0, deadline - time.monotonic()))
            if f is None:
                break
            if f["type"] == "partner_left":
                ended_early = True
                break
            sent_at = f["data"]["t"] if f["type"] == "signal" else float(f["text"].split()[-1])
            stats.relay.append(f["_t"] - sent_at)
            got += 1
            if not sent:
                sent = True
                await _send_signals(conn, mid, "answer", stats)
        stats.lost_relay += SIGNALS_PER_SIDE - got if not ended_early else 0
        if ended_early:
            stats.error("partner_left_mid_call")
        if initiator:
            # The initiator moves on at once, as a person pressing Next does; the token bucket paces
            # the other side's re-join, so pairs/s offered equals the bucket's rate.
            if time.monotonic() >= until:
                await conn.send({"type": "leave"})  # the window is over: end the match, do not re-join
                break
            t_join = time.monotonic()
            await conn.send({"type": "next"})  # ends the match and re-joins with the same interest
            stats.joins += 1
            need_join = False
        else:
            if not ended_early:
                f = await conn.expect({"partner_left"}, 10.0)
                if f is None:
                    stats.error("no_partner_left")
            need_join = True


async def _leave(conn: Conn) -> None:
    with contextlib.suppress(Exception):
        await conn.send({"type": "leave"})
        await conn.expect({"left"}, 3.0)


async def _send_signals(conn: Conn, mid: str, kind: str, stats: Stats) -> None:
    await conn.send(
        {"type": "signal", "data": {"type": kind, "sdp": "v=0 bench", "mid": mid, "t": time.monotonic()}}
    )
    for i in range(2):
        await conn.send(
            {
                "type": "signal",
                "data": {
                    "candidate": f"candidate:{i} 1 udp 1 127.0.0.1 9 typ host",
                    "mid": mid,
                    "t": time.monotonic(),
                },
            }
        )
    await conn.send({"type": "chat", "text": f"hello {time.monotonic()}"})
    stats.sent_relay += SIGNALS_PER_SIDE


async def run_async(plan: dict[str, Any], ramp_done, go_at, step_barrier=None) -> dict[str, Any]:
    """plan: urls, hold_cookies, churn_cookies, ramp_deadline (monotonic), connect_concurrency,
    heartbeat_seconds, idle_seconds, churn_seconds, churn_rate (pairs/s offered by this process),
    tag, seed.

    Timeline: open the held and churn connections (bounded by ramp_deadline), set ``ramp_done``,
    wait for the orchestrator's ``go_at`` (monotonic), hold idle for ``idle_seconds``, churn for
    ``churn_seconds``, hold 2 s more, then close everything.

    ``step_barrier`` (a ``multiprocessing.Barrier`` over every generator process) starts each step
    of a staircase in all of them at once.
    """
    stats = Stats()
    rng = random.Random(plan["seed"])
    urls = plan["urls"]
    sem = asyncio.Semaphore(plan["connect_concurrency"])
    held: list[Conn] = []
    beats: list[asyncio.Task] = []

    async def open_one(i: int, cookie: str, shift: int) -> Conn | None:
        async with sem:
            if time.monotonic() > plan["ramp_deadline"]:
                stats.error("ramp_deadline")
                return None
            conn = Conn(urls[(i + shift) % len(urls)], cookie, stats)
            return conn if await conn.connect(timeout=20) else None

    t0 = time.monotonic()
    churn_conns = await asyncio.gather(*(open_one(i, c, 1) for i, c in enumerate(plan["churn_cookies"])))
    opened = await asyncio.gather(*(open_one(i, c, 0) for i, c in enumerate(plan["hold_cookies"])))
    ramp_seconds = time.monotonic() - t0
    held = [c for c in opened if c is not None]
    churners = [c for c in churn_conns if c is not None]
    ramp_done.set()
    while go_at.value <= 0 and time.monotonic() < plan["ramp_deadline"] + 60:
        await asyncio.sleep(0.05)
    start = go_at.value if go_at.value > 0 else time.monotonic()
    churn_start = start + plan["idle_seconds"]
    churn_until = churn_start + plan["churn_seconds"]
    hold_until = churn_until + 2.0
    for conn in held + churners:
        beats.append(asyncio.create_task(_heartbeat(conn, plan["heartbeat_seconds"], hold_until, rng)))
    await asyncio.sleep(max(0.0, churn_start - time.monotonic()))
    steps_out = []
    if plan.get("churn_steps"):
        # A staircase of offered rates on the same held sockets; each step reports its own window.
        for n, (rate, seconds) in enumerate(plan["churn_steps"]):
            if step_barrier is not None and n:
                # A process's step ends when its last client has heard "left", which can be seconds
                # after another's. Without this wait the processes drift apart step by step, the
                # merged window stretches over both, and a step reads as 60-85 % of its offer
                # while the server idles.
                await asyncio.get_running_loop().run_in_executor(None, step_barrier.wait, 60)
            step = Stats()
            bucket = TokenBucket(rate)
            t_start = time.monotonic()
            until = t_start + seconds
            await asyncio.gather(
                *(_churn_client(c, f"{plan['tag']}s{n}", bucket, until, step) for c in churners)
            )
            t_end = time.monotonic()
            # Nobody stays queued or matched into the next step, and no frame of this step is
            # read in the next: each client leaves and waits for the server's "left", after which
            # nothing more can be formed for it; then what arrived before it is dropped. (A stale
            # "matched" read as a new match held its client for the 5 s signal timeout.)
            await asyncio.gather(*(_leave(c) for c in churners))
            for c in churners:
                while not c.queue.empty():
                    c.queue.get_nowait()
            steps_out.append(
                {
                    "rate": rate,
                    # The paced window: clients still waiting at ``until`` (a queued join, a
                    # partner's last frames) finish after it, and their tail is not the step's.
                    "window": [t_start, min(t_end, until)],
                    "relay": step.relay,
                    "sent_relay": step.sent_relay,
                    "lost_relay": step.lost_relay,
                    "joins": step.joins,
                    "matches": step.matches,
                    "errors": step.errors,
                }
            )
        hold_until = time.monotonic() + 1.0
    else:
        bucket = TokenBucket(plan["churn_rate"])
        await asyncio.gather(*(_churn_client(c, plan["tag"], bucket, churn_until, stats) for c in churners))
    await asyncio.sleep(max(0.0, hold_until - time.monotonic()))
    stats.held_at_end = sum(1 for c in held + churners if c.open)
    stats.closed_early = len(held) + len(churners) - stats.held_at_end
    for b in beats:
        b.cancel()
    close_sem = asyncio.Semaphore(200)

    async def close_one(c: Conn) -> None:
        async with close_sem:
            await c.close()

    await asyncio.gather(*(close_one(c) for c in held + churners))
    return {
        "connect_ok": stats.connect_ok,
        "connect_failed": stats.connect_failed,
        "connect_seconds": stats.connect_seconds,
        "ramp_seconds": ramp_seconds,
        "held_at_end": stats.held_at_end,
        "closed_early": stats.closed_early,
        "pings": stats.pings,
        "pongs": stats.pongs,
        "errors": stats.errors,
        "relay": stats.relay,
        "sent_relay": stats.sent_relay,
        "lost_relay": stats.lost_relay,
        "joins": stats.joins,
        "matches": stats.matches,
        "queued_waits": stats.queued_waits,
        "churners": len(churners),
        "held": len(held),
        "steps": steps_out,
    }


def run_process(plan: dict[str, Any], out, ramp_done, go_at, step_barrier=None) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 65536)) if hard != resource.RLIM_INFINITY else 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    try:
        # uvloop: the generator shares the machine's cores with the server it measures, so the
        # less it spends per frame, the more is left to the server.
        import uvloop

        out.put(uvloop.run(run_async(plan, ramp_done, go_at, step_barrier)))
    except BaseException as exc:
        out.put({"fatal": f"{type(exc).__name__}: {exc}"})
        raise
