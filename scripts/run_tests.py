"""`make test`: the layer contract, then the whole suite against real PostgreSQL, Redis, Celery
and Chromium.

First ``lint-imports`` checks the floor plan (``.importlinter``): an upward import fails the run
before any test starts (it takes a second). Then it resolves the services the same way `make run`
does and runs pytest with any extra arguments (``make test ARGS="-k matching"``). pytest's "no
tests collected" (exit 5) is a failure here: a suite that ran nothing proved nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services

NO_TESTS_COLLECTED = 5


def lint_imports() -> int:
    return subprocess.call(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=services.ROOT
    )


def main(argv: list[str]) -> int:
    code = lint_imports()
    if code != 0:
        print("lint-imports: the floor plan is broken (see above); no tests run", file=sys.stderr)
        return code
    services.ensure(purpose="test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seendr.settings_test")
    code = subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=services.ROOT)
    if code == NO_TESTS_COLLECTED:
        print("pytest collected no tests: treating that as a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
