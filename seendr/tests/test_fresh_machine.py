"""The README's fresh-machine path: no ``redis-server`` installed, only the embedded Valkey.

The suite once asked ``shutil.which("redis-server")`` in one test, so ``make test`` failed on a
machine that had only the embedded server. Two cheap guards keep that from coming back: no test
or benchmark looks a Redis binary up on its own (they all go through
``services.redis_server_binary``), and that one lookup really yields a server that answers when
PATH has no ``redis-server`` on it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from seendr.testing.servers import ROOT

# The lookup itself, and this guard's own examples.
ALLOWED = {ROOT / "scripts" / "services.py", Path(__file__).resolve()}
# A lookup or a launch of the binary by name: which("redis-server"), ["redis-server", ...],
# "redis-server --port ..." in a shell string.
NAMES_THE_BINARY = re.compile(r"""which\(\s*["']redis-server["']|["']redis-server(["']\s*,|\s+-)""")


def _python_sources() -> list[Path]:
    skip = {".venv", ".data", "node_modules", ".git", "static"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not skip.intersection(path.relative_to(ROOT).parts) and path not in ALLOWED
    ]


def test_nothing_but_the_lookup_names_the_redis_server_binary():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _python_sources()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if NAMES_THE_BINARY.search(line)
    ]
    assert not offenders, (
        "start Redis through seendr.testing.servers.redis_server_binary() (services.redis_server_binary), "
        "which falls back to the embedded Valkey when redis-server is not installed:\n" + "\n".join(offenders)
    )


def test_the_guard_recognises_what_it_forbids():
    assert NAMES_THE_BINARY.search('binary = shutil.which("redis-server")')
    assert NAMES_THE_BINARY.search("subprocess.Popen(['redis-server', '--port', '7000'])")
    assert NAMES_THE_BINARY.search('os.system("redis-server --port 7000")')
    assert not NAMES_THE_BINARY.search('"""Start a redis-server of our own."""')


def _path_without_redis_server() -> str:
    """PATH minus every directory holding a redis-server (the fresh machine of the README)."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not Path(d, "redis-server").exists())


def test_the_lookup_serves_a_real_redis_without_redis_server_on_path(tmp_path):
    program = textwrap.dedent(
        """
        import subprocess, sys, time
        import redis
        sys.path.insert(0, "scripts")
        import services
        from seendr.testing.servers import free_port, wait_for_port

        binary = services.redis_server_binary()
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", sys.argv[1]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=10)
            client = redis.Redis(port=port)
            assert client.ping()
            print(binary)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        """
    )
    env = {**os.environ, "PATH": _path_without_redis_server()}
    done = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    binary = done.stdout.strip().splitlines()[-1]
    assert Path(binary).name != "redis-server", f"the stripped PATH still found {binary}"
