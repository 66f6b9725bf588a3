"""Fixtures of the matching tests."""

from __future__ import annotations

import pytest

from matching import history


@pytest.fixture(autouse=True)
def history_without_a_database(request, monkeypatch):
    """A test without database access keeps the matches it ends in memory.

    The process's history writer would otherwise try to write them (and be refused by the test
    runner) after the test; tests of the history itself use the database and the real writer.
    """
    if request.node.get_closest_marker("django_db") is None:
        monkeypatch.setattr(history, "writer", history.HistoryWriter(autostart=False))
        yield
        return
    # Set up after the test database, so torn down before it: the writer thread must not be
    # inserting a batch while the database is flushed for the next test (the two deadlock, and
    # the rows would leak into that test).
    request.getfixturevalue("_django_db_helper")
    yield
    assert history.writer.drain(), "match history still queued after the test"
