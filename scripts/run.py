"""`make run`: the whole app on http://127.0.0.1:8000 — Daphne, a Celery worker and Celery beat.

Resolves PostgreSQL and Redis (starting embedded ones when nothing answers), migrates, and
supervises the processes: when one exits or Ctrl-C arrives, all of them stop.

The web tier is ``WEB_PROCESSES`` Daphne processes sharing one listening socket that this script
opens and hands down: the kernel gives each new connection to one of them, and sockets of
different processes reach each other through the channel layer, as on several machines
(docs/scaling.md). One Python process uses one core; by default there is one web process per two
cores (one on a 2-core machine, where a second measured slower: it competes with Redis,
PostgreSQL, Celery and the browser, and half its pairs cross processes through Redis).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services

ROOT = services.ROOT


def web_processes() -> int:
    """``WEB_PROCESSES``, else one per two cores, at most four (the rest of the machine is busy too)."""
    configured = os.environ.get("WEB_PROCESSES", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, min(4, (os.cpu_count() or 1) // 2))


def listening_socket(host: str, port: int) -> socket.socket | None:
    """The one IPv4 socket every web process accepts on (inherited by the children).

    None for an IPv6 host: Twisted's ``fd:`` endpoint adopts IPv4 sockets only (its ``domain``
    option is not converted from text), so an IPv6 host gets one web process that binds itself.
    """
    if ":" in host:
        return None
    sock = socket.create_server((host, port), backlog=2048)
    sock.set_inheritable(True)
    return sock


def web_commands(host: str, port: str) -> tuple[dict[str, list[str]], socket.socket | None]:
    serve = [sys.executable, "-m", "seendr.serve"]
    sock = listening_socket(host, int(port))
    if sock is None:
        return {"web1": [*serve, "-b", host, "-p", port, "seendr.asgi:application"]}, None
    command = [*serve, "-e", f"fd:fileno={sock.fileno()}", "seendr.asgi:application"]
    return {f"web{n + 1}": command for n in range(web_processes())}, sock


def main() -> int:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seendr.settings")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    services.ensure()

    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.check_call([*manage, "migrate", "--noinput"], cwd=ROOT)
    # Idempotent: creates missing periodic tasks, keeps the ones edited in the admin.
    subprocess.check_call([*manage, "install_beat_schedule", "-v0"], cwd=ROOT)
    subprocess.check_call([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT)

    commands, sock = web_commands(host, port)
    commands.update(
        {
            "worker": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "seendr",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
            ],
            "beat": [sys.executable, "-m", "celery", "-A", "seendr", "beat", "--loglevel=INFO"],
        }
    )
    procs = {
        name: subprocess.Popen(
            cmd, cwd=ROOT, pass_fds=(sock.fileno(),) if sock and name.startswith("web") else ()
        )
        for name, cmd in commands.items()
    }
    if sock is not None:
        sock.close()  # the web processes hold it now
    webs = sum(name.startswith("web") for name in procs)
    print(
        f"Seendr is up on http://{host}:{port}/ ({webs} web processes; Ctrl-C stops everything)", flush=True
    )

    def stop_all(*_: object) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping the rest", file=sys.stderr)
                    stop_all()
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop_all()
        return 0


if __name__ == "__main__":
    sys.exit(main())
