"""The Cluster rule of ``seendr.keys``: every key one script or MULTI touches maps to one slot."""

from redis.crc import key_slot

from seendr import keys


def slots(*names: str) -> set[int]:
    return {key_slot(name.encode()) for name in names}


def test_a_boards_periods_and_its_rebuild_key_share_one_slot():
    for board in ("likes", "talk_time"):
        assert (
            len(
                slots(
                    keys.leaderboard(board, "day", "2026-11-26"),
                    keys.leaderboard(board, "week", "2026-W48"),
                    keys.leaderboard(board, "all", "all"),
                    keys.leaderboard_build(board, "day", "2026-11-26", "f00d"),
                )
            )
            == 1
        )
    # Two boards are two tags: they may live on different shards.
    assert keys.leaderboard("likes", "all", "all").count("{likes}") == 1


def test_the_pool_keys_the_matcher_touches_share_one_slot():
    names = [
        keys.pool_waiting(),
        keys.pool_interest("jazz"),
        keys.pool_language("en"),
        keys.ticket("g1"),
        keys.current_match("g1"),
        keys.live_match("m1"),
        keys.recent_partners("g1"),
        keys.blocks("u1"),
        keys.banned(),
        keys.banned_networks(),
        keys.ban_mirror_ready(),
        keys.pool_live_matches(),
        keys.call("c1"),
        keys.call_line("g1"),
        keys.match_waits_per_minute(1),
        keys.match_stats_totals(),
    ]
    assert len(slots(*names)) == 1
