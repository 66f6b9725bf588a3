"""Match history, written straight into PostgreSQL in batches, off the event loop.

A finished match is durable data (DESIGN: "match history" is PostgreSQL's). It used to travel
as a Celery task through the Redis broker; a worker that died holding it left the row in the
broker's unacked set until the visibility timeout (an hour) ran out, and publishing the task
was a synchronous broker call from the web process. Now each web process keeps a small
in-memory queue: the live loop only appends to it (no I/O, never blocks), and one thread per
process drains it at least every ``MATCH_HISTORY_FLUSH_SECONDS`` with one bulk insert. Rows
are late by at most about that interval plus the insert; no broker or worker is involved.

What can be lost: only what sits in the queue of a process that is killed outright (at most
one flush interval of that process's ended matches). A clean exit flushes (``atexit``). While
PostgreSQL is away the batch is kept and retried with a back-off, up to ``MAX_PENDING`` rows
per process; beyond that the oldest are dropped with an error in the log.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_PENDING = 100_000


class HistoryWriter:
    """One per process: ``publish`` from anywhere (cheap, thread-safe), a daemon thread writes."""

    def __init__(self, *, autostart: bool = True) -> None:
        self.autostart = autostart  # False: rows wait for an explicit flush() or drain()
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._writing = 0

    def publish(self, payload: dict[str, Any]) -> None:
        """Queue one finished match (the arguments of ``services.record_matches``)."""
        if len(self._queue) >= MAX_PENDING:
            dropped = self._queue.popleft()
            log.error("match history backlog full: dropped %s", dropped.get("match_id"))
        self._queue.append(payload)
        if len(self._queue) >= MAX_BATCH:
            self._wake.set()
        if self.autostart:
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="match-history", daemon=True)
                self._thread.start()

    def _take(self) -> list[dict[str, Any]]:
        batch = []
        while self._queue and len(batch) < MAX_BATCH:
            batch.append(self._queue.popleft())
        return batch

    def _run(self) -> None:
        backoff = 0.0
        while True:
            self._wake.wait(timeout=max(backoff, float(settings.MATCH_HISTORY_FLUSH_SECONDS)))
            self._wake.clear()
            if not self._queue:
                # A quiet interval: give the database connection back (it is kept while busy,
                # because connecting costs more than the insert).
                connection.close()
                continue
            backoff = 0.0 if self.flush() else min(30.0, max(1.0, backoff * 2))

    def flush(self) -> bool:
        """Write everything queued now. False if the database refused (the rows stay queued)."""
        with self._idle:
            self._writing += 1
        try:
            while True:
                batch = self._take()
                if not batch:
                    return True
                if not self._write(batch):
                    self._queue.extendleft(reversed(batch))
                    return False
        finally:
            with self._idle:
                self._writing -= 1
                self._idle.notify_all()

    def _write(self, batch: list[dict[str, Any]]) -> bool:
        from matching.services import record_matches

        # The thread keeps its connection while busy (a broken one fails the write, is closed
        # below, and the batch is retried with a fresh one).
        try:
            record_matches(batch)
            return True
        except DatabaseError as exc:
            log.warning("match history: %d rows not written yet, will retry: %s", len(batch), exc)
            connection.close()
            return False
        except Exception:
            # A bad row must not hold the others back: write them one by one, log the bad one.
            log.exception("match history batch failed; writing its %d rows one by one", len(batch))
            for payload in batch:
                try:
                    record_matches([payload])
                except DatabaseError:
                    return False
                except Exception:
                    log.exception("match history row %s dropped", payload.get("match_id"))
            return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and written (tests, shutdown). True when it is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.flush():
                with self._idle:
                    if not self._queue and self._writing == 0:
                        return True
                    self._idle.wait(timeout=0.05)
            else:
                time.sleep(0.2)
        return not self._queue

    @property
    def pending(self) -> int:
        return len(self._queue)


writer = HistoryWriter()


def publish(payload: dict[str, Any]) -> None:
    """Queue one finished match for the process's history writer."""
    writer.publish(payload)


@atexit.register
def _flush_at_exit() -> None:
    if writer.pending:
        writer.drain(timeout=5.0)
