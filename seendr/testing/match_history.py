"""Every test and the process's match-history writer (``matching.history``).

The writer is a thread that inserts finished matches in batches. A test that ended matches in
this process must not leave a batch in flight when its database is flushed: the flush's
TRUNCATE and the batch's INSERT (with its foreign-key locks on the accounts table) deadlock, and
rows would leak into the next test. So this fixture covers the whole suite, not only the
matching tests: moderation, ops and ground-floor tests end matches too.
"""

from __future__ import annotations

import pytest

from matching import history


@pytest.fixture(autouse=True)
def match_history_drained(request, monkeypatch):
    """With a database: the writer is drained before the database is torn down. Without one:
    the test keeps the matches it ends in memory (the writer would be refused by the test runner
    after the test)."""
    if request.node.get_closest_marker("django_db") is None:
        monkeypatch.setattr(history, "writer", history.HistoryWriter(autostart=False))
        yield
        return
    # Set up after the test database, so torn down before it.
    request.getfixturevalue("_django_db_helper")
    yield
    assert history.writer.drain(), "match history still queued after the test"
