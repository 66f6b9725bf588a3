"""The Lua scripts themselves: key layout, one hash slot, bounded cost, caller-supplied time.

The cost test watches the commands the matcher runs inside Redis (MONITOR, filtered to this
test run's key prefix), so it measures what the script does, not how fast this machine is.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import redis
import redis.crc
from django.conf import settings

from matching import pool, selectors, services
from matching.types import BanCheckNeeded, Banned, Preferences
from seendr import keys, redis_state
from seendr.testing import poolsync

T0 = 1_800_000_000.0
LUA_DIR = Path(settings.BASE_DIR) / "matching" / "lua"
POOL_SCRIPTS = ("match", "end", "heartbeat", "leave", "sweep")


def r() -> redis.Redis:
    return redis_state.state()


def script_commands(action) -> list[str]:
    """Run ``action()`` and return the commands Redis executed from Lua on this run's keys."""
    client = redis.Redis.from_url(settings.REDIS_STATE_URL, decode_responses=True, socket_timeout=30)
    sentinel = f"end-of-capture-{uuid.uuid4().hex}"
    seen: list[str] = []
    try:
        with client.monitor() as monitor:
            done = threading.Event()

            def read() -> None:
                while True:
                    cmd = monitor.next_command()
                    if sentinel in cmd["command"]:
                        done.set()
                        return
                    if cmd["client_type"] == "lua" and settings.SEENDR_KEY_PREFIX in cmd["command"]:
                        seen.append(cmd["command"])

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            action()
            r().echo(sentinel)
            assert done.wait(30), "MONITOR never saw the sentinel"
    finally:
        client.close()
    return seen


def fill_pool(n: int, start: int = 0) -> None:
    """``n`` waiting tickets (through the real script, pipelined) that refuse everyone: they only
    take partners from country ZZ."""
    script = redis_state.lua("matching", "match")
    pipe = r().pipeline(transaction=False)
    p = Preferences(only_country="ZZ", country="DE")
    for i in range(start, start + n):
        keys_, args = pool.join_call(identity_id=f"w{i:05d}", prefs=p, channel_name=f"chan.w{i}", now=T0)
        pipe.evalsha(script.sha, len(keys_), *keys_, *args)
        if len(pipe) >= 1000:
            pipe.execute()
    pipe.execute()


def test_every_script_has_a_header_naming_keys_argv_and_return():
    for path in [LUA_DIR / f"{name}.lua" for name in POOL_SCRIPTS]:
        header = path.read_text().split("]]", 1)[0]
        assert path.read_text().startswith("--[["), path.name
        for word in ("KEYS[1]", "ARGV[1]", "Returns", "Key layout"):
            assert word in header, (path.name, word)


def test_keys_built_in_lua_match_the_key_module_and_share_one_slot():
    poolsync.join(
        identity_id="a", prefs=Preferences(interests=("chess",), lang="en"), channel_name="ca", now=T0
    )
    assert r().exists(keys.ticket("a"), keys.pool_waiting(), keys.pool_interest("chess")) == 3
    # The language set is only sampled by wider stages: a ticket joins it when it widens.
    assert r().exists(keys.pool_language("en")) == 0
    widened = T0 + settings.MATCH_INTEREST_SECONDS
    assert poolsync.retry(identity_id="a", now=widened) is None
    assert r().exists(keys.pool_language("en")) == 1
    assert 0 < r().ttl(keys.ticket("a")) <= settings.TICKET_TTL_SECONDS
    p = poolsync.join(
        identity_id="b", prefs=Preferences(interests=("chess",), lang="en"), channel_name="cb", now=widened
    )
    minute = int(widened // 60)
    for key, ttl in [
        (keys.current_match("a"), settings.MATCH_CURRENT_TTL_SECONDS),
        (keys.current_match("b"), settings.MATCH_CURRENT_TTL_SECONDS),
        (keys.live_match(p.match_id), settings.MATCH_CURRENT_TTL_SECONDS),
        (keys.recent_partners("a"), settings.MATCH_COOLDOWN_SECONDS),
        (keys.recent_partners("b"), settings.MATCH_COOLDOWN_SECONDS),
        (keys.match_waits_per_minute(minute), settings.MATCH_STATS_TTL_SECONDS),
    ]:
        assert ttl - 5 < r().ttl(key) <= ttl, key
    assert r().zscore(keys.pool_live_matches(), p.match_id) == widened
    wait_a = f"{settings.MATCH_INTEREST_SECONDS:.3f}"
    assert r().lrange(keys.match_waits_per_minute(minute), 0, -1) == ["0.000", wait_a]
    # Every key of this run but the ban mirror's ready mark (the suite keeps one, as a site does).
    written = [
        k for k in r().scan_iter(match=settings.SEENDR_KEY_PREFIX + "*") if k != keys.ban_mirror_ready()
    ]
    assert len(written) == 7
    assert {redis.crc.key_slot(k.encode()) for k in written} == {
        redis.crc.key_slot(keys.pool_waiting().encode())
    }
    # Nothing of the pool outlives its purpose without a TTL except the pool sets and the live zset.
    assert [k for k in written if r().ttl(k) == -1] == [keys.pool_live_matches()]


def test_a_join_checks_the_network_ban_in_the_same_call():
    r().set(keys.ban_mirror_ready(), "1")
    r().zadd(keys.banned_networks(), {"net-banned": T0 + 3600, "net-lapsed": T0 - 1})
    chess = Preferences(interests=("chess",))
    # A guest of a banned network is refused, its old ticket gone with it.
    poolsync.join(identity_id="gtroll", prefs=chess, channel_name="c0", now=T0 - 10)
    refused = poolsync.join(
        identity_id="gtroll", prefs=chess, channel_name="c1", now=T0, network="net-banned"
    )
    assert refused == Banned(until=T0 + 3600)
    assert not r().exists(keys.ticket("gtroll")) and not r().sismember(keys.pool_waiting(), "gtroll")
    # An account there may predate the ban: only Postgres can tell, and nothing is written.
    with pytest.raises(BanCheckNeeded):
        poolsync.join(identity_id="u7", prefs=chess, channel_name="c2", now=T0, network="net-banned")
    assert not r().exists(keys.ticket("u7"))
    # A lapsed ban, an unknown network ("-"), and a caller that has asked Postgres ("") join.
    outcomes = [
        poolsync.join(identity_id=ident, prefs=chess, channel_name=ident, now=T0, network=network)
        for ident, network in (("gok", "net-lapsed"), ("gnew", "-"), ("u7", ""))
    ]
    assert outcomes[0] is None and outcomes[1].partner_id == "gok" and outcomes[2] is None


def test_a_join_without_the_ban_mirror_marker_goes_to_postgres_and_writes_nothing():
    r().delete(keys.ban_mirror_ready())
    with pytest.raises(BanCheckNeeded):
        poolsync.join(identity_id="ga", prefs=Preferences(), channel_name="ca", now=T0, network="-")
    assert not r().exists(keys.ticket("ga"), keys.pool_waiting())
    # A retry is not a join: it never asks (bans met there come from the banned set alone).
    assert poolsync.join(identity_id="ga", prefs=Preferences(), channel_name="ca", now=T0) is None
    assert poolsync.retry(identity_id="ga", now=T0 + 1) is None


def test_the_script_uses_the_time_it_is_given():
    far = 4_000_000_000.5
    poolsync.join(identity_id="a", prefs=Preferences(), channel_name="ca", now=far)
    assert float(r().get(keys.ticket("a")).split("\t")[0]) == far
    commands = script_commands(
        lambda: poolsync.join(identity_id="b", prefs=Preferences(), channel_name="cb", now=far + 2.25)
    )
    assert not [c for c in commands if c.split()[0].upper() == "TIME"]
    record = selectors.match_record(match_id=poolsync.current_match(identity_id="a")[0])
    assert float(record["started_at"]) == far + 2.25 and record["wait_b"] == "2.250"


@pytest.mark.slow
def test_join_cost_is_flat_from_10_to_10000_waiting():
    probe = Preferences(interests=("chess",), lang="en")
    costs = {}
    filled = 0
    for size in (10, 10_000):
        poolsync.leave_pool(identity_id="probe")
        fill_pool(size - filled, start=filled)
        filled = size
        assert r().scard(keys.pool_waiting()) == size
        poolsync.join(identity_id="probe", prefs=probe, channel_name="cp", now=T0)
        # Past "anyone": the probe samples its interest set, its language set and the whole pool.
        commands = script_commands(lambda: poolsync.retry(identity_id="probe", now=T0 + 60))
        verbs = [c.split()[0].upper() for c in commands]
        assert not {"SMEMBERS", "SSCAN", "SCAN", "KEYS", "SINTER", "SUNION", "SDIFF"} & set(verbs)
        samples = [c for c in commands if c.split()[0].upper() == "SRANDMEMBER"]
        assert len(samples) == 3
        assert all(c.split()[-1] == str(settings.MATCH_SAMPLE_SIZE) for c in samples)
        # Every sampled ticket is read by one MGET, whatever the sample's size.
        reads = [c for c in commands if ":ticket:w" in c]
        assert len(reads) == 1 and reads[0].split()[0].upper() == "MGET"
        costs[size] = (len(commands), reads[0].count(":ticket:w"))
    small, large = costs[10], costs[10_000]
    assert small[1] == 10 and large[1] == settings.MATCH_SAMPLE_SIZE
    # The same commands for 10 and 10,000 waiting: the cost never grows with the pool. Eight: the
    # caller's own keys, three samples, the sampled tickets, the caller's ban, its language set
    # (a ticket past the interest stage) and the waiting count.
    assert small[0] == large[0] == 8


def test_sweep_script_keeps_members_that_have_a_ticket():
    poolsync.join(identity_id="alive", prefs=Preferences(interests=("chess",)), channel_name="c", now=T0)
    r().sadd(keys.pool_interest("chess"), "dead1", "dead2")
    removed = redis_state.lua("matching", "sweep").run(
        r(), [keys.pool_interest("chess")], [keys.pool_tag(), "alive", "dead1", "dead2", "never"]
    )
    assert removed == 2
    assert r().smembers(keys.pool_interest("chess")) == {"alive"}


def test_ghost_sampled_from_an_interest_set_leaves_that_set_and_the_waiting_set_only():
    poolsync.join(
        identity_id="ghost", prefs=Preferences(interests=("chess", "go"), lang="en"), channel_name="c", now=T0
    )
    r().delete(keys.ticket("ghost"))
    poolsync.join(identity_id="x", prefs=Preferences(interests=("chess",)), channel_name="c", now=T0)
    assert not r().sismember(keys.pool_interest("chess"), "ghost")
    assert not r().sismember(keys.pool_waiting(), "ghost")
    # Sets the matcher did not sample keep the ghost until the sweep.
    assert r().sismember(keys.pool_interest("go"), "ghost")
    assert services.sweep_pool(now=T0)["removed"] == 1  # go (at stage 0 it is in no language set)
