"""`make run`: the whole app on http://127.0.0.1:8000 — Daphne, a Celery worker and Celery beat.

Resolves PostgreSQL and Redis (starting embedded ones when nothing answers), migrates, and
supervises the three processes: when one exits or Ctrl-C arrives, all of them stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services

ROOT = services.ROOT


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

    commands = {
        "web": [sys.executable, "-m", "daphne", "-b", host, "-p", port, "seendr.asgi:application"],
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
    procs = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
    print(f"Seendr is up on http://{host}:{port}/ (Ctrl-C stops everything)", flush=True)

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
