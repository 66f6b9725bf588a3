"""The live pool's service API against a real Redis: matching rules, widening, concurrency.

Time is passed in (``now``), so widening is tested without sleeping. Redis TTLs are real.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from matching import pool, presence, selectors, services
from matching.types import (
    AlreadyMatched,
    Banned,
    Matched,
    MatchingUnavailable,
    NotQueued,
    Pairing,
    Preferences,
    Queued,
)
from seendr import keys, redis_state
from seendr.testing import poolsync

T0 = 1_800_000_000.0


def prefs(interests=(), lang=None, **kw) -> Preferences:
    return Preferences.from_client(interests=list(interests), lang=lang, **kw)


def join(identity_id: str, now: float, interests=(), lang=None, channel: str | None = None, **kw):
    return poolsync.join(
        identity_id=identity_id,
        prefs=prefs(interests, lang, **kw),
        channel_name=channel or f"chan.{identity_id}",
        now=now,
    )


def r() -> redis.Redis:
    return redis_state.state()


def queued(identity_id: str) -> bool:
    return r().sismember(keys.pool_waiting(), identity_id) and r().exists(keys.ticket(identity_id)) == 1


# --- Preferences --------------------------------------------------------------------------


def test_preferences_from_client_normalises_and_never_raises():
    p = Preferences.from_client(
        interests=["Music!", "music", "  Rock  n' Roll ", 7, "a,b", *[f"t{i}" for i in range(20)]],
        lang="EN",
        country="de",
        only_lang="yes",
        only_country="xx1",
        karma_band=True,
    )
    assert p.interests == ("music", "rock n roll", "a b", *[f"t{i}" for i in range(7)])
    assert p.lang == "en" and p.country == "DE"
    assert p.only_lang is False and p.only_country == "" and p.karma_band is None
    assert Preferences.from_client(interests=None, lang=5) == Preferences()
    with pytest.raises(ValueError):
        Preferences(interests=("Not Normal",))
    with pytest.raises(ValueError):
        Preferences(lang="english")


async def test_queued_reports_the_stage_from_the_ticket_own_wait_and_the_pool_size(settings):
    settings.MATCH_INTEREST_SECONDS = 3
    settings.MATCH_ANYONE_SECONDS = 8
    try:

        async def stage(ident: str, now: float, **kw) -> tuple[str, int]:
            if kw:
                q = await pool.join(identity_id=ident, prefs=prefs(**kw), channel_name="c", now=now)
            else:
                q = await pool.retry(identity_id=ident, now=now)
            assert isinstance(q, Queued)
            return q.stage, q.waiting

        assert await stage("a", T0, interests=["chess"], lang="en") == ("interest", 1)
        assert await stage("a", T0 + 2.99) == ("interest", 1)
        assert await stage("a", T0 + 3) == ("language", 1)
        assert await stage("a", T0 + 7.99) == ("language", 1)
        assert await stage("a", T0 + 8) == ("anyone", 1)
        # Stages a ticket cannot use are skipped.
        r().sadd(keys.blocks("b"), "a", "c", "d")
        r().sadd(keys.blocks("c"), "d")
        r().sadd(keys.blocks("d"), "a")
        assert await stage("b", T0, lang="en") == ("language", 2)
        assert await stage("c", T0, lang=None) == ("anyone", 3)
        assert await stage("d", T0, interests=["go"]) == ("interest", 4)
        assert await stage("d", T0 + 3) == ("anyone", 4)
        # A second join keeps the first join time, so the stage keeps widening.
        assert await stage("d", T0 + 8.5, interests=["go"]) == ("anyone", 4)
    finally:
        await redis_state.astate().aclose()


# --- Pairing ------------------------------------------------------------------------------


def test_shared_interest_pairs_at_once_and_records_both_sides():
    assert join("ga", T0, ["music", "chess"], "en") is None
    assert queued("ga")
    p = join("gb", T0 + 1.5, ["chess", "go"], "en", channel="chan.b")
    assert p is not None
    assert (p.partner_id, p.partner_channel, p.initiator) == ("ga", "chan.ga", True)
    assert p.common_interests == ("chess",) and p.stage == "interest"
    assert p.started_at == T0 + 1.5 and p.waited_seconds == 0 and p.partner_waited_seconds == 1.5

    with pytest.raises(AlreadyMatched) as info:
        poolsync.retry(identity_id="ga", now=T0 + 2)
    passive = info.value.pairing
    assert (passive.match_id, passive.partner_id, passive.partner_channel) == (p.match_id, "gb", "chan.b")
    assert passive.initiator is False and passive.waited_seconds == 1.5 and info.value.channel == "chan.ga"
    assert poolsync.current_match(identity_id="ga") == (p.match_id, "gb", "chan.b")
    assert poolsync.current_match(identity_id="gb") == (p.match_id, "ga", "chan.ga")
    # Both are out of every pool set and have no ticket.
    assert not queued("ga") and not queued("gb")
    assert r().scard(keys.pool_interest("music")) == 0 and r().scard(keys.pool_interest("chess")) == 0
    assert r().scard(keys.pool_language("en")) == 0
    assert presence.pool_counts() == {"waiting": 0, "in_call": 2}


def test_no_shared_interest_waits_while_both_are_in_the_interest_stage():
    assert join("ga", T0, ["music"], "en") is None
    assert join("gb", T0 + 0.5, ["chess"], "en") is None
    assert presence.pool_counts()["waiting"] == 2


def test_more_common_interests_preferred():
    r().sadd(keys.blocks("one"), "two")  # keep both waiting
    join("one", T0, ["chess"], "en")
    join("two", T0 + 1, ["chess", "music"], "en")
    assert join("caller", T0 + 2, ["chess", "music", "go"], "en").partner_id == "two"


def test_shared_interest_preferred_over_longer_waiting_stranger():
    join("caller", T0, ["chess"], "en")
    join("old", T0 + 0.1, ["knitting"], "de")
    join("one", T0 + 0.2, ["chess"], "de")  # shares an interest, not the language: waits too
    assert presence.pool_counts()["waiting"] == 3
    p = poolsync.retry(identity_id="caller", now=T0 + 20)
    assert (p.partner_id, p.stage, p.common_interests) == ("one", "anyone", ("chess",))


def test_longest_waiting_preferred_among_equals():
    r().sadd(keys.blocks("w1"), "w2", "w3")
    r().sadd(keys.blocks("w2"), "w3")
    for i, ident in enumerate(["w1", "w2", "w3"]):
        join(ident, T0 + 5 - i, ["chess"])  # w3 joined first
    assert join("caller", T0 + 6, ["chess"]).partner_id == "w3"


def test_widening_reaches_language_then_anyone_on_time(settings):
    settings.MATCH_INTEREST_SECONDS = 3
    settings.MATCH_ANYONE_SECONDS = 8
    # Same language, no shared interest: both must be past 3 s.
    join("a", T0, ["music"], "en")
    join("b", T0 + 1, ["chess"], "en")
    assert poolsync.retry(identity_id="a", now=T0 + 2.99) is None
    assert poolsync.retry(identity_id="a", now=T0 + 3.5) is None  # b has waited 2.5 s only
    p = poolsync.retry(identity_id="b", now=T0 + 4)
    assert p is not None and p.partner_id == "a" and p.stage == "language"
    assert p.waited_seconds == 3 and p.partner_waited_seconds == 4

    # Different languages, no shared interest: both must be past 8 s.
    join("c", T0, ["music"], "de")
    join("d", T0 + 5, ["chess"], "fr")
    assert poolsync.retry(identity_id="c", now=T0 + 7.9) is None
    assert poolsync.retry(identity_id="c", now=T0 + 9) is None  # d: 4 s
    assert poolsync.retry(identity_id="d", now=T0 + 12.9) is None  # d: 7.9 s
    p = poolsync.retry(identity_id="d", now=T0 + 13)
    assert p is not None and p.partner_id == "c" and p.stage == "anyone"


def test_shared_interest_but_different_language_is_not_an_interest_match():
    join("a", T0, ["chess"], "en")
    assert join("b", T0 + 1, ["chess"], "de") is None
    p = poolsync.retry(identity_id="b", now=T0 + 9)
    assert p is not None and p.stage == "anyone" and p.common_interests == ("chess",)


def test_any_language_is_a_wildcard_at_the_interest_stage_and_the_same_language_is_preferred():
    join("de_chess", T0, ["chess"], "de")
    p = join("anylang", T0 + 1, ["chess"])  # no language: anyone who shares an interest
    assert (p.partner_id, p.stage, p.common_interests) == ("de_chess", "interest", ("chess",))
    join("open", T0 + 2, ["go"])
    p = join("fr_go", T0 + 3, ["go"], "fr")  # and the other way round
    assert (p.partner_id, p.stage) == ("open", "interest")
    # Among interest matches, the same language wins over an open one that waited longer.
    r().sadd(keys.blocks("x_any"), "x_en")
    join("x_any", T0, ["film"])
    join("x_en", T0 + 1, ["film"], "en")
    assert join("y_en", T0 + 2, ["film"], "en").partner_id == "x_en"
    # A hard language filter still refuses an open language.
    join("strict", T0, ["art"], "en", only_lang=True)
    assert join("open_art", T0 + 1, ["art"]) is None


def test_no_interests_and_no_language_match_anyone_at_once_but_not_a_newcomer_with_interests():
    join("fresh", T0, ["chess"], "en")
    assert join("plain", T0 + 1) is None  # "fresh" only takes interest matches for 3 s
    p = join("plain2", T0 + 1.5)
    assert p is not None and p.partner_id == "plain" and p.stage == "anyone"


def test_karma_band_preferred_among_strangers():
    r().sadd(keys.blocks("x1"), "x2")
    join("x1", T0, lang=None, karma_band=1)
    join("x2", T0 + 1, lang=None, karma_band=3)
    assert join("caller", T0 + 2, karma_band=3).partner_id == "x2"


# --- Compatibility ------------------------------------------------------------------------


@pytest.mark.parametrize("blocker", ["a", "b"])
def test_blocked_either_way_never_matched(blocker):
    other = "b" if blocker == "a" else "a"
    r().sadd(keys.blocks(blocker), other)
    join("a", T0, ["chess"], "en")
    assert join("b", T0 + 1, ["chess"], "en") is None
    assert poolsync.retry(identity_id="a", now=T0 + 60) is None
    assert poolsync.retry(identity_id="b", now=T0 + 60) is None
    # Someone else still matches.
    assert join("c", T0 + 61, ["chess"], "en").partner_id in {"a", "b"}


def test_cooldown_after_a_match_then_allowed_again(settings):
    settings.MATCH_COOLDOWN_SECONDS = 600
    join("a", T0, ["chess"])
    m = join("b", T0 + 1, ["chess"])
    assert poolsync.end_match(identity_id="b", now=T0 + 30).match_id == m.match_id
    assert join("a", T0 + 31, ["chess"]) is None
    assert join("b", T0 + 32, ["chess"]) is None
    assert poolsync.retry(identity_id="a", now=T0 + 300) is None
    assert r().ttl(keys.recent_partners("a")) > 590
    p = poolsync.retry(identity_id="a", now=T0 + 1 + 600)
    assert p is not None and p.partner_id == "b"


def test_recent_partners_keeps_only_the_last_few(settings):
    settings.MATCH_RECENT_PARTNERS = 5
    for i in range(7):
        join(f"p{i}", T0 + i * 10, ["chess"])
        assert join("me", T0 + i * 10 + 1, ["chess"]).partner_id == f"p{i}"
        poolsync.end_match(identity_id="me", now=T0 + i * 10 + 2)
    remembered = [entry.split("=")[0] for entry in r().get(keys.recent_partners("me")).split(";")[1:]]
    assert remembered == [f"p{i}" for i in range(2, 7)]


def test_banned_candidate_skipped_and_removed_banned_caller_refused():
    r().zadd(keys.banned(), {"was_bad": T0 - 1})
    join("bad2", T0 - 5, ["chess"])
    join("bad", T0 - 4, ["go"], "en")
    r().zadd(keys.banned(), {"bad": T0 + 3600, "bad2": T0 + 3600})
    assert join("bad", T0 + 1, ["go"], "en") == Banned(until=T0 + 3600)
    assert not queued("bad") and r().scard(keys.pool_interest("go")) == 0
    assert r().scard(keys.pool_language("en")) == 0
    # The banned candidate is never handed out, and leaves the pool when sampled.
    assert join("good", T0, ["chess"]) is None
    assert not r().sismember(keys.pool_interest("chess"), "bad2") and not queued("bad2")
    assert join("c", T0 + 2, ["chess"]).partner_id == "good"
    # An expired ban no longer counts.
    join("was_bad", T0 + 3, ["chess"])
    assert join("d", T0 + 4, ["chess"]).partner_id == "was_bad"


def test_only_lang_holds_both_ways():
    late = T0 + 60  # everyone at "anyone": only the hard filters can refuse
    join("en_only", T0, lang="en", only_lang=True)
    join("de", T0, lang="de")
    assert poolsync.retry(identity_id="de", now=late) is None  # en_only refuses de
    assert poolsync.retry(identity_id="en_only", now=late) is None  # and is not handed de either
    join("fr", T0, lang="fr")
    assert poolsync.retry(identity_id="de", now=late).partner_id == "fr"


def test_only_country_holds_both_ways():
    late = T0 + 60
    join("wants_de", T0, country="FR", only_country="DE")
    join("fr", T0, country="FR")
    assert poolsync.retry(identity_id="fr", now=late) is None  # wants_de refuses fr
    poolsync.leave_pool(identity_id="fr")
    # wants_de would take this German, but the German only takes someone from the US.
    join("de_wants_us", T0, country="DE", only_country="US")
    assert poolsync.retry(identity_id="de_wants_us", now=late) is None
    assert poolsync.retry(identity_id="wants_de", now=late) is None
    assert join("de_ok", T0, country="DE").partner_id == "wants_de"


# --- Ghosts, double joins, leaving -------------------------------------------------------


def test_ghost_ticket_never_handed_out_and_cleaned_lazily():
    join("ghost", T0, ["chess"], "en")
    r().pexpire(keys.ticket("ghost"), 1)  # its socket died: the TTL runs out
    while r().exists(keys.ticket("ghost")):
        pass
    assert join("live", T0 + 1, ["chess"], "en") is None
    assert poolsync.retry(identity_id="live", now=T0 + 30) is None
    assert not r().sismember(keys.pool_interest("chess"), "ghost")
    assert not r().sismember(keys.pool_waiting(), "ghost")
    with pytest.raises(NotQueued):
        poolsync.retry(identity_id="ghost", now=T0 + 31)


def test_sweep_stale_removes_ghosts_from_every_pool_set_and_keeps_the_living(settings):
    for i in range(30):
        join(f"g{i}", T0, ["chess", f"t{i % 3}"], "en" if i % 2 else "de", only_country="ZZ")
        # Widened: in a language set too.
        poolsync.retry(identity_id=f"g{i}", now=T0 + settings.MATCH_ANYONE_SECONDS)
    for i in range(0, 30, 3):
        r().delete(keys.ticket(f"g{i}"))
    r().zadd(keys.pool_live_matches(), {"lapsed": T0 - 1000, "fresh": T0})
    counts = services.sweep_pool(now=T0 + 10)
    assert counts["removed"] == 10 * 4  # waiting, chess, t0, and the language set
    assert counts["live_expired"] == 1 and counts["sets"] == 7
    ghosts = {f"g{i}" for i in range(0, 30, 3)}
    for pattern in keys.pool_set_patterns():
        for key in r().scan_iter(match=pattern):
            assert not (set(r().smembers(key)) & ghosts), key
    assert r().scard(keys.pool_waiting()) == 20
    assert services.sweep_pool(now=T0 + 10)["removed"] == 0


def test_double_join_refreshes_one_ticket_newest_channel_wins(settings):
    settings.MATCH_INTEREST_SECONDS = 3
    join("a", T0, ["chess", "music"], "en", channel="tab1")
    poolsync.retry(identity_id="a", now=T0 + 3)  # widened: in the "en" set
    assert r().sismember(keys.pool_language("en"), "a")
    join("a", T0 + 3, ["music"], "de", channel="tab2")
    assert r().scard(keys.pool_waiting()) == 1
    assert not r().sismember(keys.pool_interest("chess"), "a")
    assert not r().sismember(keys.pool_language("en"), "a")
    assert r().sismember(keys.pool_language("de"), "a")
    fields = r().get(keys.ticket("a")).split("\t")
    joined, channel = fields[0], fields[7]
    assert channel == "tab2" and float(joined) == T0  # widening keeps running
    p = join("b", T0 + 3, ["music"], "de")
    assert p.partner_channel == "tab2" and p.partner_waited_seconds == 3


def test_two_tabs_joining_at_once_are_matched_at_most_once():
    join("waiting", T0, ["chess"])

    def tab(n: int):
        try:
            return join("twotabs", T0 + 1, ["chess"], channel=f"tab{n}")
        except AlreadyMatched as exc:
            return exc

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(tab, [1, 2]))
    pairings = [x for x in results if isinstance(x, Pairing)]
    assert len(pairings) == 1
    assert isinstance(results[1 - results.index(pairings[0])], AlreadyMatched)
    assert not queued("twotabs")


def test_join_while_matched_raises_already_matched_and_retry_reports_passive_match():
    join("a", T0, ["chess"])
    p = join("b", T0 + 1, ["chess"])
    with pytest.raises(AlreadyMatched) as info:
        join("b", T0 + 2, ["chess"])
    assert (info.value.pairing.match_id, info.value.pairing.partner_id) == (p.match_id, "a")
    with pytest.raises(AlreadyMatched) as info:
        poolsync.retry(identity_id="a", now=T0 + 3)
    passive = info.value.pairing
    assert (passive.match_id, passive.partner_id, passive.partner_channel) == (p.match_id, "b", "chan.b")


def test_leave_pool():
    join("a", T0, ["chess"], "en")
    assert poolsync.leave_pool(identity_id="a") is True
    assert poolsync.leave_pool(identity_id="a") is False
    assert r().scard(keys.pool_waiting()) == 0 and r().scard(keys.pool_interest("chess")) == 0
    assert join("b", T0 + 20) is None


# --- End, heartbeat, channel --------------------------------------------------------------


def test_end_match_is_symmetric_idempotent_and_keeps_a_short_record(settings):
    join("a", T0, ["chess"])
    p = join("b", T0 + 1, ["chess"])
    ended = poolsync.end_match(identity_id="a", now=T0 + 61, reason="next")
    assert ended is not None
    assert (ended.match_id, ended.a, ended.b, ended.partner_id, ended.partner_channel) == (
        p.match_id,
        "b",
        "a",
        "b",
        "chan.b",
    )
    assert (ended.started_at, ended.ended_at, ended.common_interests) == (T0 + 1, T0 + 61, ("chess",))
    assert poolsync.current_match(identity_id="a") is None
    assert poolsync.current_match(identity_id="b") is None
    assert poolsync.end_match(identity_id="a", now=T0 + 62) is None
    assert poolsync.end_match(identity_id="b", now=T0 + 62) is None
    record = selectors.match_record(match_id=p.match_id)
    assert (
        record["ended_by"] == "a" and record["end_reason"] == "next" and float(record["ended_at"]) == T0 + 61
    )
    assert settings.MATCH_ENDED_TTL_SECONDS - 5 < r().ttl(keys.live_match(p.match_id)) <= 1800
    assert presence.pool_counts()["in_call"] == 0
    # Both may join again at once (with others: they are each other's recent partner).
    assert join("a", T0 + 63) is None


def test_both_sides_ending_at_once_end_it_exactly_once():
    for i in range(20):
        join(f"a{i}", T0, [f"t{i}"])
        join(f"b{i}", T0 + 1, [f"t{i}"])

    def end(ident: str):
        return poolsync.end_match(identity_id=ident, now=T0 + 5)

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(end, [f"{s}{i}" for i in range(20) for s in "ab"]))
    ended = [e for e in results if e is not None]
    assert len(ended) == 20 and len({e.match_id for e in ended}) == 20


def test_heartbeat_refreshes_ticket_and_match_ttls(settings):
    join("a", T0, ["chess"])
    r().expire(keys.ticket("a"), 3)
    poolsync.heartbeat(identity_id="a", now=T0 + 10)
    assert r().ttl(keys.ticket("a")) > settings.TICKET_TTL_SECONDS - 3
    p = join("b", T0 + 11, ["chess"])
    for key in (keys.current_match("a"), keys.current_match("b"), keys.live_match(p.match_id)):
        r().expire(key, 3)
    poolsync.heartbeat(identity_id="b", now=T0 + 20)
    assert r().ttl(keys.current_match("b")) > settings.MATCH_CURRENT_TTL_SECONDS - 3
    assert r().ttl(keys.live_match(p.match_id)) > settings.MATCH_CURRENT_TTL_SECONDS - 3
    assert r().ttl(keys.current_match("a")) <= 3  # each side keeps its own key alive
    assert r().zscore(keys.pool_live_matches(), p.match_id) == T0 + 20
    poolsync.heartbeat(identity_id="nobody", now=T0)  # harmless


# --- Async API and failures ---------------------------------------------------------------


async def test_async_api_round_trip():
    try:
        card = '{"name":"Ann","guest":true}'
        queued = await pool.join(
            identity_id="a", prefs=prefs(["chess"]), channel_name="ca", now=T0, card_json=card
        )
        assert queued == Queued(stage="interest", waited_seconds=0, waiting=1)
        await pool.heartbeat(identity_id="a", now=T0 + 1)
        p = (await pool.join(identity_id="b", prefs=prefs(["chess"]), channel_name="cb", now=T0 + 2)).pairing
        assert p.partner_channel == "ca" and p.partner_card == {"name": "Ann", "guest": True}
        assert await pool.current_match(identity_id="a") == (p.match_id, "b", "cb")
        with pytest.raises(AlreadyMatched) as info:
            await pool.retry(identity_id="a", now=T0 + 3)
        assert info.value.pairing.initiator is False and info.value.pairing.partner_card == {}
        with pytest.raises(AlreadyMatched) as info:
            await pool.retry(identity_id="b", now=T0 + 3)
        assert info.value.pairing.initiator is True and info.value.channel == "cb"
        assert (await pool.end_match(identity_id="b", now=T0 + 4)).partner_id == "a"
        assert await pool.end_match(identity_id="a", now=T0 + 4) is None
        assert isinstance(await pool.join(identity_id="c", prefs=prefs(), channel_name="cc", now=T0), Queued)
        assert await pool.leave_pool(identity_id="c") is True
        with pytest.raises(NotQueued):
            await pool.retry(identity_id="c", now=T0 + 5)
    finally:
        await redis_state.astate().aclose()


@pytest.fixture
def dead_redis(settings):
    from seendr.testing.servers import free_port

    settings.REDIS_STATE_URL = f"redis://127.0.0.1:{free_port()}/1"
    redis_state.state.cache_clear()
    yield
    redis_state.state.cache_clear()


def test_redis_down_raises_matching_unavailable(dead_redis):
    with pytest.raises(MatchingUnavailable):
        presence.pool_counts()
    with pytest.raises(MatchingUnavailable):
        services.sweep_pool(now=T0)


async def test_redis_down_raises_matching_unavailable_async(dead_redis):
    try:
        with pytest.raises(MatchingUnavailable):
            await pool.join(identity_id="a", prefs=prefs(), channel_name="c", now=T0)
        with pytest.raises(MatchingUnavailable):
            await pool.current_match(identity_id="a")
    finally:
        await redis_state.astate().aclose()


# --- 1,000 concurrent joiners ------------------------------------------------------------

N_THREADS = 4
IN_FLIGHT = 16  # per thread: 64 concurrent script calls over 4 loops and connection pools


def _run_crowd(calls: list, worker) -> list:
    """Run ``worker(call)`` coroutines for every call, spread over threads, each with its own loop."""
    results: list = []
    lock = threading.Lock()

    def thread_main(chunk: list) -> None:
        async def main():
            sem = asyncio.Semaphore(IN_FLIGHT)

            async def one(call):
                async with sem:
                    return await worker(call)

            try:
                out = await asyncio.gather(*(one(c) for c in chunk))
            finally:
                await redis_state.astate().aclose()
            with lock:
                results.extend(out)

        asyncio.run(main())

    chunks = [calls[i::N_THREADS] for i in range(N_THREADS)]
    threads = [threading.Thread(target=thread_main, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(calls)
    return results


async def _join_or_already(call):
    ident, p, now = call
    try:
        outcome = await pool.join(identity_id=ident, prefs=p, channel_name=f"chan.{ident}", now=now)
        return ident, outcome.pairing if isinstance(outcome, Matched) else None
    except AlreadyMatched as exc:
        return ident, exc


async def _retry_or_already(call):
    ident, now = call
    try:
        outcome = await pool.retry(identity_id=ident, now=now)
        return ident, outcome.pairing if isinstance(outcome, Matched) else None
    except AlreadyMatched as exc:
        return ident, exc


def _crowd(n: int, blocks_per_user: int, seed: int):
    rng = random.Random(seed)
    ids = [f"g{i:04d}" for i in range(n)]
    blocked: set[frozenset[str]] = set()
    pipe = r().pipeline(transaction=False)
    for ident in ids:
        for other in rng.sample(ids, blocks_per_user):
            if other != ident:
                pipe.sadd(keys.blocks(ident), other)
                blocked.add(frozenset((ident, other)))
    pipe.execute()
    tags = ["music", "chess", "film", "art", "go", "travel", "code", "food"]
    calls = [
        (
            ident,
            prefs(rng.sample(tags, rng.randint(0, 3)), rng.choice(["en", "de", "fr", None])),
            T0 + rng.random(),
        )
        for ident in ids
    ]
    # Phase 1: everyone joins at once. Phase 2..: everyone unmatched re-runs the matcher past "anyone".
    results = _run_crowd(calls, _join_or_already)
    formed = [p for _, p in results if isinstance(p, Pairing)]
    for round_ in range(10):
        waiting = list(r().smembers(keys.pool_waiting()))
        if len(waiting) < 2:
            break
        results = _run_crowd([(ident, T0 + 9 + round_) for ident in waiting], _retry_or_already)
        new = [p for _, p in results if isinstance(p, Pairing)]
        formed += new
        if not new:
            break
    return ids, blocked, formed


def _check_pairs(ids, blocked, formed):
    # Every match the script reported involves two distinct people, each in exactly one match.
    initiators = {}
    for p in formed:
        assert p.partner_id != "" and p.match_id not in initiators
        initiators[p.match_id] = p
    pipe = r().pipeline(transaction=False)
    for mid in initiators:
        pipe.hmget(keys.live_match(mid), ["a", "b"])
    for ident in ids:
        pipe.get(keys.current_match(ident))
    replies = pipe.execute()
    records, currents = replies[: len(initiators)], dict(zip(ids, replies[len(initiators) :], strict=True))
    members = Counter()
    for (mid, p), (a, b) in zip(initiators.items(), records, strict=True):
        assert a != b and b == p.partner_id
        assert frozenset((a, b)) not in blocked
        members[a] += 1
        members[b] += 1
        # Symmetric: each side's current match is this one.
        assert currents[a] == mid and currents[b] == mid
    assert all(count == 1 for count in members.values()), members.most_common(3)
    matched = set(members)
    unmatched = [i for i in ids if i not in matched]
    assert all(currents[i] is None for i in unmatched)
    assert set(r().smembers(keys.pool_waiting())) == set(unmatched)
    # The public reads agree, seen from both sides (spot check).
    for mid, (a, b) in list(zip(initiators, records, strict=True))[:20]:
        assert poolsync.current_match(identity_id=a)[:2] == (mid, b)
        assert poolsync.current_match(identity_id=b)[:2] == (mid, a)
    return matched, unmatched


@pytest.mark.slow
def test_thousand_concurrent_joiners_pair_up_exactly_once():
    ids, blocked, formed = _crowd(1000, 0, seed=1)
    matched, unmatched = _check_pairs(ids, blocked, formed)
    assert len(matched) == 1000 and unmatched == []
    assert presence.pool_counts() == {"waiting": 0, "in_call": 1000}
    assert len(formed) == 500
    assert r().llen(keys.match_waits_per_minute(int(T0 // 60))) == 1000  # two waits per match


@pytest.mark.slow
def test_thousand_concurrent_joiners_with_blocks_never_meet_a_blocked_user():
    ids, blocked, formed = _crowd(1000, 3, seed=2)
    matched, unmatched = _check_pairs(ids, blocked, formed)
    # Whoever is left over could not be paired: every remaining pair is blocked.
    for i, a in enumerate(unmatched):
        for b in unmatched[i + 1 :]:
            assert frozenset((a, b)) in blocked, (a, b)
    assert len(matched) >= 990
