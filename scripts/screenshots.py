"""`make screenshots`: the chat page's call screens for the docs, from a real call.

Runs the two browser tests that set up a call on a phone (390x844) and on a laptop (1366x768)
with ``SEENDR_SCREENSHOTS_DIR`` pointing at docs/img/, where they save ``chat-phone.png`` and
``chat-desktop.png`` at the moment the call is on screen. Same services as `make test`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_tests

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/e2e/test_chat_page.py::test_phone_call_screen_keeps_next_chat_and_report_in_reach",
    "tests/e2e/test_chat_page.py::test_desktop_controls_text_only_and_no_accidental_skips",
]


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else ROOT / "docs" / "img"
    os.environ["SEENDR_SCREENSHOTS_DIR"] = str(target.resolve())
    code = run_tests.main([*TESTS, "-q"])
    if code == 0:
        for name in ("chat-phone.png", "chat-desktop.png"):
            print(target / name)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
