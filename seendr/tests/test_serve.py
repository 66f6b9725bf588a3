"""The web process's start-up settings (``python -m seendr.serve``)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seendr import serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_thresholds():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_collector_gets_the_web_process_thresholds_by_default():
    gc.set_threshold(700, 10, 10)
    assert serve.tune_collector({}) == serve.GC_THRESHOLDS
    assert gc.get_threshold() == serve.GC_THRESHOLDS
    assert serve.GC_THRESHOLDS[0] > 700  # young collections rarer than CPython's own


def test_an_operator_can_set_the_thresholds():
    assert serve.tune_collector({"SEENDR_GC_THRESHOLDS": "700,10,10"}) == (700, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("raw", ["700,10", "a,b,c", "700,0,10", "1,2,3,4"])
def test_malformed_thresholds_stop_with_a_clear_message(raw):
    before = gc.get_threshold()
    with pytest.raises(SystemExit, match="three positive integers"):
        serve.tune_collector({"SEENDR_GC_THRESHOLDS": raw})
    assert gc.get_threshold() == before


def test_the_web_process_refuses_malformed_thresholds_before_it_loads_the_app():
    done = subprocess.run(
        [sys.executable, "-m", "seendr.serve", "-b", "127.0.0.1", "-p", "1", "seendr.asgi:application"],
        cwd=ROOT,
        env={**os.environ, "SEENDR_GC_THRESHOLDS": "lots"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SEENDR_GC_THRESHOLDS must be three positive integers" in done.stderr
    assert "Traceback" not in done.stderr
