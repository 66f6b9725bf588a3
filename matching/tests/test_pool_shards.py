"""Pool shards against a real Redis: each language's shard matches alone, a ticket widens across
shards by moving (never by reaching), and bans, blocks, the sweep and the statistics cover every
shard. ``test_pool_shards_on_cluster`` runs the same tests on a real three-master Cluster.

Time is passed in (``now``), so widening is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import random
import time
from collections import Counter

import pytest
import redis
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone

from matching import pool, presence, selectors, services, shards, stats
from matching.types import Banned, Matched, Preferences, Queued
from moderation import services as moderation_services
from profiles import services as profile_services
from seendr import keys, pool_shards, redis_state
from seendr.testing import poolsync
from seendr.testing.factories import make_user
from seendr.testing.fixtures import mark_ban_mirror_complete

SHARDS = "en,de"  # shards en, de, and other (every other language, and "any language")


@pytest.fixture
def sharded(settings):
    settings.MATCH_POOL_SHARDS = SHARDS
    mark_ban_mirror_complete()  # a running site's mirror is complete in every shard


def r() -> redis.Redis:
    return redis_state.state()


def prefs(lang: str | None, interests=("chess",)) -> Preferences:
    return Preferences(interests=tuple(interests), lang=lang)


def join(ident: str, lang: str | None, now: float, interests=("chess",)):
    """(outcome, shard) of a socket's join: home shard first, then the fallback order."""
    return poolsync.run(
        shards.join(
            identity_id=ident,
            prefs=prefs(lang, interests),
            channel_name=f"chan.{ident}",
            card="{}",
            now=now,
            channel_layer=get_channel_layer(),
        )
    )


def retry(ident: str, lang: str | None, shard: str, now: float, interests=("chess",)):
    return poolsync.run(
        shards.retry(
            shard=shard,
            identity_id=ident,
            prefs=prefs(lang, interests),
            channel_name=f"chan.{ident}",
            card="{}",
            now=now,
            channel_layer=get_channel_layer(),
        )
    )


def park(ident: str, shard: str, lang: str, now: float) -> None:
    """A ticket waiting in one shard that nobody here wants (its only interest is its own)."""
    outcome = poolsync.run(
        pool.join(
            identity_id=ident,
            prefs=prefs(lang, ("zither",)),
            channel_name=f"chan.{ident}",
            now=now,
            shard=shard,
        )
    )
    assert isinstance(outcome, Queued)


def where(ident: str) -> list[str]:
    """The shards holding a ticket of this identity (a ticket must be in at most one)."""
    return [s for s in pool_shards.names() if r().exists(keys.ticket(ident, s))]


def slot(key: str) -> int:
    return redis.crc.key_slot(key.encode())


# --- The layout -------------------------------------------------------------------------------


def test_without_shards_the_key_layout_is_that_of_one_pool():
    prefix = keys.prefix()
    assert pool_shards.names() == ("",) and not pool_shards.sharded()
    assert keys.pool_tag() == f"{prefix}{{pool}}:"
    assert keys.ticket("g1") == f"{prefix}{{pool}}:ticket:g1"
    assert keys.banned() == f"{prefix}{{pool}}:banned"
    assert keys.live_match("0123abcd" * 4) == f"{prefix}{{pool}}:match:{'0123abcd' * 4}"
    mid = pool_shards.new_match_id(pool_shards.default())
    assert len(mid) == 32 and int(mid, 16) >= 0  # the match ids of one pool: 32 hex digits
    assert pool_shards.home("en") == pool_shards.home(None) == ""
    assert pool_shards.route("") == ("",)


def test_the_setting_names_shards_by_language_with_other_for_the_rest(settings):
    settings.MATCH_POOL_SHARDS = "en, es ,pt=pt+gl"
    assert pool_shards.names() == ("other", "en", "es", "pt")
    assert [pool_shards.home(lang) for lang in ("en", "es", "pt", "gl", "fr", None)] == [
        "en",
        "es",
        "pt",
        "pt",
        "other",
        "other",
    ]
    assert pool_shards.route("pt") == ("pt", "other") and pool_shards.route("other") == ("other",)
    for bad in ("en,en", "en=en,gb=en", "toolongname", "e-n", "x=english", "other"):
        settings.MATCH_POOL_SHARDS = bad
        with pytest.raises(ImproperlyConfigured):
            pool_shards.names()


def test_each_shard_is_one_slot_and_a_match_id_names_its_shard(sharded):
    prefix = keys.prefix()
    assert keys.pool_tag() == f"{prefix}{{pool.other}}:" and keys.pool_tag("en") == f"{prefix}{{pool.en}}:"
    builders = [
        lambda s: keys.pool_waiting(s),
        lambda s: keys.pool_interest("jazz", s),
        lambda s: keys.pool_language("en", s),
        lambda s: keys.ticket("g1", s),
        lambda s: keys.current_match("g1", s),
        lambda s: keys.live_match("m1", s),
        lambda s: keys.recent_partners("g1", s),
        lambda s: keys.blocks("u1", s),
        lambda s: keys.banned(s),
        lambda s: keys.banned_networks(s),
        lambda s: keys.ban_mirror_ready(s),
        lambda s: keys.pool_live_matches(s),
        lambda s: keys.call("c1", s),
        lambda s: keys.call_line("g1", s),
        lambda s: keys.match_waits_per_minute(1, s),
        lambda s: keys.match_stats_totals(s),
    ]
    for shard in pool_shards.names():
        assert len({slot(build(shard)) for build in builders}) == 1
    assert len({slot(keys.pool_waiting(s)) for s in pool_shards.names()}) == 3
    for shard in pool_shards.names():
        mid = pool_shards.new_match_id(shard)
        assert len(mid) == 32 and pool_shards.of_match(mid) == shard
        assert keys.live_match(mid) == keys.live_match(mid, shard)
    # An id naming no shard was formed in the one pool of the unsharded layout (before the switch).
    assert pool_shards.of_match("0123abcd" * 4) == "" and keys.live_match("0123abcd" * 4).endswith(
        "{pool}:match:" + "0123abcd" * 4
    )


# --- Matching inside a shard and across -------------------------------------------------------


def test_same_language_callers_meet_in_their_home_shard(sharded):
    now = time.time()
    first, shard = join("gann", "de", now)
    # Alone in "de", Ann moved on to "other" at once.
    assert isinstance(first, Queued) and shard == "other" and where("gann") == ["other"]
    # With another German waiting at home, Cid stays there, and Dan meets him there.
    park("gzed", "de", "de", now)
    cid, cid_shard = join("gcid", "de", now, interests=("go",))
    assert isinstance(cid, Queued) and cid_shard == "de"
    dan, dan_shard = join("gdan", "de", now + 1, interests=("go",))
    assert isinstance(dan, Matched) and dan_shard == "de"
    pairing = dan.pairing
    assert pairing.partner_id == "gcid" and pairing.match_id.startswith("de-")
    assert r().get(keys.current_match("gcid", "de")) == pairing.match_id
    assert r().get(keys.current_match("gcid", "other")) is None
    assert r().hget(keys.live_match(pairing.match_id), "a") == "gdan"
    # A like or report by match id finds the match in its shard without being told.
    assert selectors.match_partner(match_id=pairing.match_id, identity_id="gcid") == "gdan"
    ended = poolsync.run(
        services.finish_match(
            identity_id="gcid", reason="next", now=now + 2, channel_layer=get_channel_layer(), shard="de"
        )
    )
    assert ended is not None and ended.match_id == pairing.match_id
    assert r().get(keys.current_match("gdan", "de")) is None


def test_a_lone_caller_crosses_to_the_fallback_shard_and_meets_someone_there(sharded):
    now = time.time()
    fr, fr_shard = join("gfra", "fr", now)  # French: home is "other"
    assert isinstance(fr, Queued) and fr_shard == "other"
    de, de_shard = join("gdeb", "de", now + 0.5, interests=("chess",))
    # "de" was empty: the German left it at once and joined "other", where the French waits.
    # Same interest, a French and a German ticket: the interest rule needs one side's language
    # open, so they wait...
    assert isinstance(de, Queued) and de_shard == "other"
    assert where("gdeb") == ["other"] and not r().sismember(keys.pool_waiting("de"), "gdeb")
    # ...until both reach the anyone stage in "other".
    outcome, shard = retry("gdeb", "de", "other", now + 9)
    assert isinstance(outcome, Matched) and shard == "other"
    assert outcome.pairing.partner_id == "gfra" and outcome.pairing.match_id.startswith("other-")
    assert where("gdeb") == where("gfra") == []
    any_lang, any_shard = join("gany", None, now)  # "any language" also lives in "other"
    assert isinstance(any_lang, Queued) and any_shard == "other"


def test_at_the_anyone_boundary_a_ticket_leaves_home_keeping_its_wait(sharded):
    now = time.time()
    # Two English speakers, one blocked by the other: "en" is not empty, but cannot match Eve.
    r().sadd(keys.blocks("geve", "en"), "gfay")
    park("gfay", "en", "en", now)
    eve, eve_shard = join("geve", "en", now + 0.1)
    assert isinstance(eve, Queued) and eve_shard == "en"
    assert isinstance(retry("geve", "en", "en", now + 4)[0], Queued)  # the language stage: stays
    assert where("geve") == ["en"]
    gus, _ = join("ggus", "fr", now)  # waiting in "other"
    assert isinstance(gus, Queued)
    outcome, shard = retry("geve", "en", "en", now + 9)  # anyone: home had its chance
    assert isinstance(outcome, Matched) and shard == "other" and outcome.pairing.partner_id == "ggus"
    assert outcome.pairing.stage == "anyone"
    # The move kept Eve's join time: she waited 8.9 s, not the moment since she arrived.
    assert outcome.pairing.waited_seconds == pytest.approx(8.9, abs=0.01)
    assert where("geve") == [] and where("gfay") == ["en"]


def test_a_pair_that_met_at_home_does_not_meet_again_after_both_moved(sharded):
    now = time.time()
    park("gzed", "en", "en", now)
    r().sadd(keys.blocks("gzed", "en"), "gmia", "gned")  # nobody else for them at home
    assert join("gmia", "en", now)[1] == "en"
    met, _ = join("gned", "en", now)
    assert isinstance(met, Matched) and met.pairing.partner_id == "gmia"
    for ident in ("gmia", "gned"):
        services_end = services.finish_match(
            identity_id=ident, reason="next", now=now + 1, channel_layer=get_channel_layer(), shard="en"
        )
        poolsync.run(services_end)
        assert join(ident, "en", now + 1)[1] == "en"  # not alone: the other one is there
    # Both reach the anyone stage at home, unmatched (the cooldown), and move to "other", where
    # the cooldown they carried still keeps them apart.
    assert retry("gmia", "en", "en", now + 10) == (
        Queued(stage="anyone", waited_seconds=9.0, waiting=1),
        "other",
    )
    outcome, shard = retry("gned", "en", "en", now + 10)
    assert isinstance(outcome, Queued) and shard == "other" and outcome.waiting == 2
    assert where("gmia") == where("gned") == ["other"]


def test_recent_partner_lists_merge_keeping_the_latest_meetings():
    merged = shards.merged_recent([";a=10.0;b=20.0", None, ";b=15.0;c=30.5;d=5"], keep=3)
    assert merged == ";a=10.0;b=20.0;c=30.5"
    assert shards.merged_recent([None, ""], keep=5) is None


def test_a_ticket_paired_just_before_it_moves_takes_up_that_match_and_stays(sharded):
    now = time.time()
    park("gzed", "en", "en", now)
    assert join("givy", "en", now, interests=("go",))[1] == "en"
    # Ivy's retry at the anyone boundary found nobody and is about to move her, when Jon pairs
    # her at home: her leave finds no ticket, so she does not move but takes up Jon's match.
    seen_by_her_retry = Queued(stage="anyone", waited_seconds=9.0, waiting=2)
    jon, _ = join("gjon", "en", now + 8.5, interests=("go",))
    assert isinstance(jon, Matched) and jon.pairing.partner_id == "givy"
    outcome, shard = poolsync.run(
        shards._widen(
            seen_by_her_retry,
            now=now + 9,
            shard="en",
            home="en",
            identity_id="givy",
            prefs=prefs("en", ("go",)),
            channel_name="chan.givy",
            card="{}",
            channel_layer=get_channel_layer(),
        )
    )
    assert isinstance(outcome, Matched) and shard == "en"
    assert outcome.pairing.match_id == jon.pairing.match_id
    assert where("givy") == [] and not r().exists(keys.current_match("givy", "other"))


async def _crowd_join(calls):
    layer = get_channel_layer()
    sem = asyncio.Semaphore(64)

    async def one(ident, lang, interests, now):
        async with sem:
            return ident, await shards.join(
                identity_id=ident,
                prefs=prefs(lang, interests),
                channel_name=f"chan.{ident}",
                card="{}",
                now=now,
                channel_layer=layer,
            )

    return await asyncio.gather(*(one(*c) for c in calls))


async def _crowd_retry(calls):
    layer = get_channel_layer()
    sem = asyncio.Semaphore(64)

    async def one(ident, lang, interests, shard, now):
        async with sem:
            return ident, await shards.retry(
                shard=shard,
                identity_id=ident,
                prefs=prefs(lang, interests),
                channel_name=f"chan.{ident}",
                card="{}",
                now=now,
                channel_layer=layer,
            )

    return await asyncio.gather(*(one(*c) for c in calls))


def _assert_one_place_each(ids, formed):
    """Each pair formed once (``formed``: match id -> the pairs its two sides were told, as
    sets of two identities); a matched identity has no ticket anywhere; a waiting one has exactly
    one ticket, in the waiting set of that same shard; no set holds a ghost."""
    by_id = Counter()
    for mid, told in formed.items():
        a, b = r().hmget(keys.live_match(mid), ["a", "b"])
        assert told == {frozenset((a, b))} and a != b, (mid, told, a, b)
        by_id[a] += 1
        by_id[b] += 1
    assert all(n == 1 for n in by_id.values()), by_id.most_common(3)
    for ident in ids:
        tickets = where(ident)
        currents = [s for s in pool_shards.names() if r().get(keys.current_match(ident, s))]
        if ident in by_id:
            assert tickets == [] and len(currents) == 1, (ident, tickets, currents)
        else:
            assert len(tickets) == 1 and currents == [], (ident, tickets, currents)
            assert r().sismember(keys.pool_waiting(tickets[0]), ident)
    for shard in pool_shards.names():
        for pattern in keys.pool_set_patterns(shard):
            for set_key in r().scan_iter(match=pattern):
                for member in r().smembers(set_key):
                    assert r().exists(keys.ticket(member, shard)), (set_key, member)
    return [i for i in ids if i not in by_id]


@pytest.mark.slow
def test_many_joiners_across_shards_at_once_pair_once_and_each_ticket_is_in_one_shard(sharded):
    rng = random.Random(7)
    now = time.time()
    langs = ["en"] * 6 + ["de"] * 3 + ["fr", "es", None]
    tags = ["music", "chess", "film", "go"]
    people = {
        f"g{i:04d}": (rng.choice(langs), tuple(rng.sample(tags, rng.randint(0, 2)))) for i in range(400)
    }
    results = poolsync.run(
        _crowd_join([(i, lang, ints, now + rng.random()) for i, (lang, ints) in people.items()])
    )
    formed: dict[str, set] = {}

    def record(results) -> dict[str, str]:
        for ident, (outcome, _) in results:
            if isinstance(outcome, Matched):
                pair = frozenset((ident, outcome.pairing.partner_id))
                formed.setdefault(outcome.pairing.match_id, set()).add(pair)
        return {i: shard for i, (o, shard) in results if isinstance(o, Queued)}

    place = record(results)
    _assert_one_place_each(people, formed)
    for round_ in range(12):  # everyone unmatched retries, past the anyone boundary
        calls = [(i, *people[i], place[i], now + 9 + round_) for i in place]
        place = record(poolsync.run(_crowd_retry(calls)))
        if len(place) < 2:
            break
    unmatched = _assert_one_place_each(people, formed)
    assert len(unmatched) <= 1 and len(formed) == (400 - len(unmatched)) // 2
    assert {pool_shards.of_match(mid) for mid in formed} == {"en", "de", "other"}
    counts = presence.pool_counts(now=now + 20)
    assert counts == {"waiting": len(unmatched), "in_call": 2 * len(formed)}


# --- Every shard: bans, blocks, the sweep, the statistics ------------------------------------


@pytest.mark.django_db
def test_a_ban_is_written_to_every_shard_and_holds_in_each(sharded, django_capture_on_commit_callbacks):
    now = time.time()
    assert isinstance(join("gbad0000001", "en", now)[0], Queued)  # waiting in "other" (alone)
    with django_capture_on_commit_callbacks(execute=True):
        moderation_services.ban(
            identity_id="gbad0000001", until=timezone.now() + dt.timedelta(days=1), reason="x"
        )
    for shard in pool_shards.names():
        assert r().zscore(keys.banned(shard), "gbad0000001") is not None
    assert where("gbad0000001") == []  # taken out of the pool, wherever it waited
    for lang in ("en", "de", None):  # refused by the matcher of every shard
        outcome, _ = join("gbad0000001", lang, now + 1)
        assert isinstance(outcome, Banned)
    assert where("gbad0000001") == []


def test_a_block_is_written_to_every_shard_and_holds_after_the_move(sharded):
    kim, lou = "gcafe0000001", "gbeef0000001"
    assert profile_services.block(blocker_id=kim, blocked_id=lou)
    for shard in pool_shards.names():
        assert r().sismember(keys.blocks(kim, shard), lou)
    now = time.time()
    assert join(kim, "de", now)[1] == "other"  # alone at home: moved on
    assert join(lou, "de", now)[1] == "other"  # alone at home too: the same shard as Kim
    for later in (now + 9, now + 20):
        assert isinstance(retry(lou, "de", "other", later)[0], Queued)
        assert isinstance(retry(kim, "de", "other", later)[0], Queued)


@pytest.mark.django_db
def test_the_rebuild_commands_restore_every_shard(sharded, django_capture_on_commit_callbacks):
    ann, bob = make_user(), make_user()
    with django_capture_on_commit_callbacks(execute=True):
        profile_services.block(blocker_id=f"u{ann.pk}", blocked_id=f"u{bob.pk}")
        moderation_services.ban(identity_id=f"u{bob.pk}", until=None, reason="x")
    # A guest's block from before shards were turned on: only in the unsharded pool's keys.
    r().sadd(keys.blocks("gcafe0000002", ""), "gbeef0000002")
    r().expire(keys.blocks("gcafe0000002", ""), 3600)
    for shard in pool_shards.names():  # what an empty restart of the state Redis leaves
        r().delete(keys.blocks(f"u{ann.pk}", shard), keys.banned(shard), keys.ban_mirror_ready(shard))
    call_command("rebuild_block_sets", stdout=io.StringIO())
    call_command("rebuild_ban_set", stdout=io.StringIO())
    for shard in pool_shards.names():
        assert r().smembers(keys.blocks(f"u{ann.pk}", shard)) == {f"u{bob.pk}"}
        assert r().zscore(keys.banned(shard), f"u{bob.pk}") is not None
        assert r().exists(keys.ban_mirror_ready(shard))
        assert r().smembers(keys.blocks("gcafe0000002", shard)) == {"gbeef0000002"}
        assert 3500 < r().ttl(keys.blocks("gcafe0000002", shard)) <= 3600


@pytest.mark.django_db
def test_a_shard_that_lost_its_ban_mirror_is_noticed_and_rebuilt(sharded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        moderation_services.ban(identity_id="gbad0000002", until=None, reason="x")
    assert moderation_services.ban_mirror_complete()
    r().delete(keys.banned("de"), keys.ban_mirror_ready("de"))  # only the "de" shard restarted
    assert not moderation_services.ban_mirror_complete()
    assert moderation_services.restore_ban_mirror()
    assert r().zscore(keys.banned("de"), "gbad0000002") is not None
    assert r().exists(keys.ban_mirror_ready("de"))


def test_the_sweep_and_the_statistics_cover_every_shard(sharded):
    now = time.time()
    join("gaaa", "en", now)  # alone in "en": waits in "other"
    b, _ = join("gbbb", "en", now)  # alone in "en" too: meets A in "other"
    park("gzed", "de", "de", now)
    join("gccc", "de", now)
    d, _ = join("gddd", "de", now)  # meets C at home in "de"
    assert isinstance(b, Matched) and isinstance(d, Matched)
    for shard in pool_shards.names():
        r().sadd(keys.pool_waiting(shard), f"gghost{shard}")  # a member whose ticket is gone
    assert {pool_shards.of_match(b.pairing.match_id), pool_shards.of_match(d.pairing.match_id)} == {
        "other",
        "de",
    }
    counts = presence.pool_counts(now=now)
    assert counts == {"waiting": 1 + 3, "in_call": 4}  # the placeholder and three ghosts
    assert services.sweep_pool(now=now)["removed"] == 3
    assert presence.pool_counts(now=now) == {"waiting": 1, "in_call": 4}
    series = stats.matches_series(now=now, minutes=2)
    assert series[-1][1] == 2
    assert len(stats.recent_waits(now=now)) == 4
    totals = stats.match_totals(now=now + 60 * (stats.FOLD_LAG_MINUTES + 1))
    assert totals.matches == 2 and totals.waits == 4
