"""Match history: the idempotent batch writer, the web process writing it, and a dead broker."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection

from matching import history, services
from matching.models import Match
from matching.tests.wsutil import expect, matched_pair, send, user_session
from seendr import keys
from seendr.redis_state import state

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_790_000_000.0


def _payload(**over):
    payload = {
        "match_id": "m" + "0" * 31,
        "identity_a": "gaaaa",
        "identity_b": "gbbbb",
        "started_at": T0,
        "ended_at": T0 + 95.5,
        "ended_by": "gbbbb",
        "end_reason": "next",
        "common_interests": ["chess", "jazz"],
        "name_a": "Quiet Otter 100",
        "name_b": "Brave Fox 200",
    }
    payload.update(over)
    return payload


def test_record_match_writes_every_field():
    match, created = services.record_match(**_payload())
    assert created
    match.refresh_from_db()
    assert (match.identity_a, match.identity_b) == ("gaaaa", "gbbbb")
    assert match.user_a is None and match.user_b is None
    assert (match.name_a, match.name_b) == ("Quiet Otter 100", "Brave Fox 200")
    assert match.duration_seconds == pytest.approx(95.5)
    assert match.started_at.timestamp() == pytest.approx(T0)
    assert match.ended_at.timestamp() == pytest.approx(T0 + 95.5)
    assert match.ended_by == "gbbbb" and match.end_reason == "next"
    assert match.common_interests == ["chess", "jazz"]


def test_record_match_twice_is_one_row_and_one_talk_time():
    from leaderboard import boards

    user_a = get_user_model().objects.create_user(username="ann", password="x" * 12)
    user_b = get_user_model().objects.create_user(username="bob", password="x" * 12)
    payload = _payload(identity_a=f"u{user_a.pk}", identity_b=f"u{user_b.pk}", name_a="", name_b="")
    now_payload = dict(payload, started_at=time.time() - 120, ended_at=time.time())
    first, created_first = services.record_match(**now_payload)
    _second, created_second = services.record_match(**now_payload)
    assert (created_first, created_second) == (True, False)
    assert Match.objects.count() == 1
    assert first.user_a_id == user_a.pk and first.user_b_id == user_b.pk
    assert first.name_a == "ann" and first.name_b == "bob"  # resolved when the socket did not know
    board = keys.leaderboard("talk_time", "all", "all")
    assert state().zscore(board, boards.member(user_a.pk)) == 120
    assert state().zscore(board, boards.member(user_b.pk)) == 120


def test_record_match_from_many_threads_at_once_creates_one_row():
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def write():
        try:
            barrier.wait()
            results.append(services.record_match(**_payload())[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert Match.objects.count() == 1


def test_record_match_refuses_an_unknown_reason():
    with pytest.raises(ValueError):
        services.record_match(**_payload(end_reason="boredom"))


def test_a_deleted_account_is_recorded_without_its_foreign_key():
    payload = _payload(identity_a="u999999")
    match, _ = services.record_match(**payload)
    assert match.user_a_id is None and match.identity_a == "u999999"


def test_record_matches_writes_a_batch_once_and_counts_talk_time_once():
    from leaderboard import boards

    user_a = get_user_model().objects.create_user(username="ann", password="x" * 12)
    now = time.time()
    batch = [
        _payload(match_id=f"m{i:031d}", identity_a=f"u{user_a.pk}", started_at=now - 60, ended_at=now)
        for i in range(3)
    ]
    created = services.record_matches(batch + batch[:1])  # a repeat inside the batch is one row
    assert len(created) == 3 and Match.objects.count() == 3
    assert services.record_matches(batch) == []  # a second write of the same batch is a no-op
    assert Match.objects.count() == 3
    row = Match.objects.get(pk=batch[0]["match_id"])
    assert row.user_a_id == user_a.pk and row.name_b == "Brave Fox 200"
    board = keys.leaderboard("talk_time", "all", "all")
    assert state().zscore(board, boards.member(user_a.pk)) == 3 * 60


def test_the_writer_skips_a_bad_row_and_keeps_the_rest():
    writer = history.HistoryWriter()
    writer.publish(_payload(match_id="m" + "1" * 31))
    writer.publish(_payload(match_id="m" + "2" * 31, end_reason="boredom"))
    writer.publish(_payload(match_id="m" + "3" * 31))
    assert writer.drain(timeout=10)
    assert sorted(Match.objects.values_list("pk", flat=True)) == ["m" + "1" * 31, "m" + "3" * 31]


async def _wait_for_match_row(match_id: str, timeout: float) -> Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await sync_to_async(Match.objects.filter(pk=match_id).first)()
        if row is not None:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"match {match_id} never reached Postgres")


async def test_the_web_process_writes_the_match_when_a_socket_leaves_without_any_worker(settings):
    settings.MATCH_HISTORY_FLUSH_SECONDS = 0.2
    a, a_comm, a_matched, b, b_comm, _ = await matched_pair("chess")
    await asyncio.sleep(0.3)
    await send(a_comm, {"type": "leave"})
    await expect(a_comm, "left")
    await expect(b_comm, "partner_left")
    ended = time.monotonic()
    row = await _wait_for_match_row(a_matched["match_id"], timeout=5)
    assert time.monotonic() - ended < 2.0  # at most about one flush interval late
    assert {row.identity_a, row.identity_b} == {a.id, b.id}
    assert row.identity_a == b.id  # the initiator is side a
    assert row.ended_by == a.id and row.end_reason == "leave"
    assert row.common_interests == ["chess"]
    assert {row.name_a, row.name_b} == {a.name, b.name}
    assert 0.2 < row.duration_seconds < 30
    await a_comm.disconnect()
    await b_comm.disconnect()


async def test_accounts_matched_over_sockets_get_their_history_with_user_links():
    from matching.tests.wsutil import open_socket

    ann, ann_key = await user_session("ann")
    bob, bob_key = await user_session("bob")
    ann_comm, _ = await open_socket(ann_key)
    bob_comm, _ = await open_socket(bob_key)
    await send(ann_comm, {"type": "join", "interests": ["go"]})
    await expect(ann_comm, "queued")
    await send(bob_comm, {"type": "join", "interests": ["go"]})
    matched = await expect(bob_comm, "matched")
    await expect(ann_comm, "matched")
    await bob_comm.disconnect()
    assert (await expect(ann_comm, "partner_left"))["reason"] == "disconnect"
    row = await _wait_for_match_row(matched["match_id"], timeout=10)
    assert row.user_a_id == bob.pk and row.user_b_id == ann.pk
    assert row.end_reason == "disconnect" and row.ended_by == f"u{bob.pk}"
    await ann_comm.disconnect()


async def test_a_hung_broker_changes_nothing_for_the_socket_or_the_history():
    """The broker hangs (it accepts connections and never answers): the match still ends at once
    for both sides, the socket answers, and the match reaches PostgreSQL without the broker."""
    import socket

    from seendr.celery import app

    saved = app.conf.broker_write_url
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes handshakes; nobody ever reads or answers
    app.conf.broker_write_url = f"redis://127.0.0.1:{silent.getsockname()[1]}/3"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        _a, a_comm, a_matched, _b, b_comm, _ = await matched_pair()
        await send(a_comm, {"type": "next"})
        assert (await expect(b_comm, "partner_left", timeout=10))["reason"] == "next"
        await expect(a_comm, "queued", timeout=10)
        await send(a_comm, {"type": "ping"})
        await expect(a_comm, "pong", timeout=10)
        await _wait_for_match_row(a_matched["match_id"], timeout=10)
        await a_comm.disconnect()
        await b_comm.disconnect()
    finally:
        silent.close()
        app.conf.broker_write_url = saved
        app._pool = None
        app.amqp._producer_pool = None


def test_record_matches_writes_every_field_of_every_row():
    user_b = get_user_model().objects.create_user(username="bea", password="x" * 12)
    rows = [
        _payload(),
        _payload(
            match_id="m" + "9" * 31,
            identity_b=f"u{user_b.pk}",
            common_interests=[],
            name_a="Zoë «Ü» 😀",
            end_reason="leave",
        ),
    ]
    services.record_matches(rows)
    first = Match.objects.get(pk=rows[0]["match_id"])
    assert (first.identity_a, first.identity_b, first.user_a_id, first.user_b_id) == (
        "gaaaa",
        "gbbbb",
        None,
        None,
    )
    assert (first.name_a, first.name_b) == ("Quiet Otter 100", "Brave Fox 200")
    assert first.common_interests == ["chess", "jazz"]
    assert first.started_at.timestamp() == pytest.approx(T0)
    assert first.ended_at.timestamp() == pytest.approx(T0 + 95.5)
    assert first.duration_seconds == pytest.approx(95.5)
    assert (first.ended_by, first.end_reason) == ("gbbbb", "next")
    second = Match.objects.get(pk=rows[1]["match_id"])
    assert second.user_b_id == user_b.pk and second.identity_b == f"u{user_b.pk}"
    assert second.common_interests == [] and second.name_a == "Zoë «Ü» 😀"
    assert second.end_reason == "leave"
