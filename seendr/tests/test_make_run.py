"""`make run` (scripts/run.py) with two web processes on one port: both accept, and two people
whose sockets landed on different processes still meet and talk through the channel layer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from matching.tests.wsutil import guest_session, ws_connect, ws_expect, ws_send
from seendr.testing.servers import ROOT, ServerProcess, free_port, server_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def web_processes(run: subprocess.Popen) -> list[psutil.Process]:
    return [c for c in psutil.Process(run.pid).children() if "seendr.serve" in " ".join(c.cmdline())]


def accepted_by(proc: psutil.Process, port: int) -> int:
    """Established connections this process holds on the served port."""
    return sum(1 for c in proc.net_connections("tcp") if c.laddr.port == port and c.status == "ESTABLISHED")


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    log = tmp_path / "make-run.log"
    proc = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=server_env(HOST="127.0.0.1", PORT=str(port), WEB_PROCESSES="2", LOG_LEVEL="WARNING"),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(proc, port, log)
    server.wait_for_output("Seendr is up", timeout=90, what="make run", poll=0.2)
    yield server
    server.stop()
    assert "Traceback" not in server.output(), server.output()


async def test_two_web_processes_share_the_port_and_their_sockets_meet(make_run):
    webs = web_processes(make_run.proc)
    assert len(webs) == 2
    deadline = time.monotonic() + 60
    while True:  # both answer pages once their apps are loaded
        try:
            with urllib.request.urlopen(make_run.url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, make_run.output()
        await asyncio.sleep(0.3)

    # The kernel hands each new connection to one of the processes: open sockets until one
    # pair sits on different processes, then pair those two people.
    sockets = []
    try:
        while len(sockets) < 24 and not all(accepted_by(p, make_run.port) for p in webs):
            _identity, key = await guest_session()
            sockets.append(await ws_connect(make_run, key))
            await ws_expect(sockets[-1], "hello")
        assert all(accepted_by(p, make_run.port) for p in webs), f"{len(sockets)} sockets, one process"
        a, b = await _pair_across(sockets, webs, make_run.port)
        await ws_send(a, {"type": "join", "interests": ["jazz"]})
        await ws_expect(a, "queued")
        await ws_send(b, {"type": "join", "interests": ["jazz"]})
        matched = await ws_expect(b, "matched")
        assert (await ws_expect(a, "matched"))["match_id"] == matched["match_id"]
        await ws_send(b, {"type": "signal", "data": {"type": "offer", "sdp": "v=0"}})
        assert (await ws_expect(a, "signal"))["data"] == {"type": "offer", "sdp": "v=0"}
        await ws_send(a, {"type": "chat", "text": "across processes"})
        assert (await ws_expect(b, "chat"))["text"] == "across processes"
    finally:
        for ws in sockets:
            await ws.close()


async def _pair_across(sockets, webs, port):
    """Two of ``sockets`` served by different processes (by their local client ports)."""
    owner = {}
    for n, proc in enumerate(webs):
        for c in proc.net_connections("tcp"):
            if c.laddr.port == port and c.status == "ESTABLISHED" and c.raddr:
                owner[c.raddr.port] = n
    by_process: dict[int, object] = {}
    for ws in sockets:
        n = owner.get(ws.local_address[1])
        if n is not None:
            by_process.setdefault(n, ws)
    assert len(by_process) == 2, owner
    return by_process[0], by_process[1]
