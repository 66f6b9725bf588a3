"""Fixtures of the fault-injection tests: one private stack (Redis, PostgreSQL) for the session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import Stack, started_stack


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="seendr-faults-"))
    try:
        with started_stack(workdir) as stack:
            yield stack
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def stack(fault_stack: Stack) -> Iterator[Stack]:
    """The private stack with both servers up and no Seendr process left from an earlier test."""
    fault_stack.ensure_services()
    fault_stack.redis.client(0).flushall()
    yield fault_stack
    fault_stack.stop_processes()
    fault_stack.ensure_services()
