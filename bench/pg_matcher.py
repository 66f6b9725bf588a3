"""The PostgreSQL baseline of the matcher: the same rules as ``matching/lua/match.lua``, in SQL.

A fair implementation, not a straw man:

* one round trip per join, like the Lua script: the whole decision is a PL/pgSQL function
  (``bench_pg_join``), run in its own transaction;
* the candidate is locked with ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent joiners never
  wait on each other and never take the same ticket (no double match);
* indexes for every predicate: GIN on the ticket's interest array, primary keys on
  (blocker, blocked) and (identity, partner), a reverse index for blocks, ``joined_at`` for FIFO;
* UNLOGGED tables and ``synchronous_commit = off``: the Redis it is compared with keeps nothing
  on disk either, so neither side pays for durability.

Rules (stage "interest", the first stage every fresh joiner is in): not self, a shared interest,
the same language when either side set one, not blocked in either direction, not a recent
partner within the cooldown, not banned. The oldest compatible ticket wins.

Tables live in the scratch benchmark database only (``bench_pg_*``).
"""

from __future__ import annotations

from collections.abc import Iterable

SCHEMA = """
DROP TABLE IF EXISTS bench_pg_ticket, bench_pg_block, bench_pg_recent, bench_pg_current,
    bench_pg_match, bench_pg_banned CASCADE;
CREATE UNLOGGED TABLE bench_pg_ticket (
    identity text PRIMARY KEY,
    interests text[] NOT NULL,
    lang text,
    channel text NOT NULL,
    joined_at double precision NOT NULL
);
CREATE INDEX bench_pg_ticket_interests ON bench_pg_ticket USING gin (interests);
CREATE INDEX bench_pg_ticket_joined ON bench_pg_ticket (joined_at);
CREATE UNLOGGED TABLE bench_pg_block (
    blocker text NOT NULL,
    blocked text NOT NULL,
    PRIMARY KEY (blocker, blocked)
);
CREATE INDEX bench_pg_block_reverse ON bench_pg_block (blocked, blocker);
CREATE UNLOGGED TABLE bench_pg_recent (
    identity text NOT NULL,
    partner text NOT NULL,
    until double precision NOT NULL,
    PRIMARY KEY (identity, partner)
);
CREATE UNLOGGED TABLE bench_pg_banned (
    identity text PRIMARY KEY,
    until double precision NOT NULL
);
CREATE UNLOGGED TABLE bench_pg_current (
    identity text PRIMARY KEY,
    match_id text NOT NULL,
    partner text NOT NULL
);
CREATE UNLOGGED TABLE bench_pg_match (
    id text PRIMARY KEY,
    a text NOT NULL,
    b text NOT NULL,
    common text[] NOT NULL,
    started_at double precision NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS bench_pg_match_seq;

-- Returns the partner's identity when a pair formed (the caller is the initiator), NULL when
-- the caller was queued, 'already_matched' / 'banned' as errors.
CREATE OR REPLACE FUNCTION bench_pg_join(
    p_me text, p_interests text[], p_lang text, p_channel text, p_now double precision,
    p_cooldown double precision
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_partner text;
    v_partner_interests text[];
    v_match text;
    v_own text;
BEGIN
    IF EXISTS (SELECT 1 FROM bench_pg_current WHERE identity = p_me) THEN
        RETURN 'already_matched';
    END IF;
    IF EXISTS (SELECT 1 FROM bench_pg_banned WHERE identity = p_me AND until > p_now) THEN
        RETURN 'banned';
    END IF;
    -- A queued caller re-joining: lock its own ticket first; if someone is pairing it right
    -- now (locked), it is being matched: report that rather than match twice.
    SELECT identity INTO v_own FROM bench_pg_ticket WHERE identity = p_me FOR UPDATE SKIP LOCKED;
    IF v_own IS NULL AND EXISTS (SELECT 1 FROM bench_pg_ticket WHERE identity = p_me) THEN
        RETURN 'already_matched';
    END IF;

    SELECT t.identity, t.interests INTO v_partner, v_partner_interests
      FROM bench_pg_ticket t
     WHERE t.interests && p_interests
       AND t.identity <> p_me
       AND t.lang IS NOT DISTINCT FROM p_lang
       AND NOT EXISTS (SELECT 1 FROM bench_pg_block b WHERE b.blocker = p_me AND b.blocked = t.identity)
       AND NOT EXISTS (SELECT 1 FROM bench_pg_block b WHERE b.blocker = t.identity AND b.blocked = p_me)
       AND NOT EXISTS (SELECT 1 FROM bench_pg_recent r
                        WHERE r.identity = p_me AND r.partner = t.identity AND r.until > p_now)
       AND NOT EXISTS (SELECT 1 FROM bench_pg_banned x WHERE x.identity = t.identity AND x.until > p_now)
     ORDER BY t.joined_at
     LIMIT 1
       FOR UPDATE OF t SKIP LOCKED;

    IF v_partner IS NULL THEN
        INSERT INTO bench_pg_ticket (identity, interests, lang, channel, joined_at)
        VALUES (p_me, p_interests, p_lang, p_channel, p_now)
        ON CONFLICT (identity) DO UPDATE
           SET interests = EXCLUDED.interests, lang = EXCLUDED.lang, channel = EXCLUDED.channel;
        RETURN NULL;
    END IF;

    DELETE FROM bench_pg_ticket WHERE identity IN (v_partner, p_me);
    v_match := 'pg' || nextval('bench_pg_match_seq');
    INSERT INTO bench_pg_current (identity, match_id, partner)
    VALUES (p_me, v_match, v_partner), (v_partner, v_match, p_me);
    INSERT INTO bench_pg_recent (identity, partner, until)
    VALUES (p_me, v_partner, p_now + p_cooldown), (v_partner, p_me, p_now + p_cooldown)
    ON CONFLICT (identity, partner) DO UPDATE SET until = EXCLUDED.until;
    INSERT INTO bench_pg_match (id, a, b, common, started_at)
    VALUES (v_match, p_me, v_partner,
            ARRAY(SELECT unnest(p_interests) INTERSECT SELECT unnest(v_partner_interests)), p_now);
    RETURN v_partner;
END;
$$;
"""

JOIN_SQL = "SELECT bench_pg_join(%s, %s, %s, %s, %s, %s)"


def create_schema(conn) -> None:
    """Create (anew) the baseline's tables and function on a psycopg connection."""
    conn.execute(SCHEMA)
    conn.commit()


def seed_rules(conn, *, blocks: Iterable[tuple[str, str]], recent: Iterable[tuple[str, str, float]]) -> None:
    """Bulk-load the blocks and cooldowns of the workload with COPY."""
    with conn.cursor() as cur:
        with cur.copy("COPY bench_pg_block (blocker, blocked) FROM STDIN") as copy:
            for row in blocks:
                copy.write_row(row)
        with cur.copy("COPY bench_pg_recent (identity, partner, until) FROM STDIN") as copy:
            for row in recent:
                copy.write_row(row)
    conn.execute("ANALYZE bench_pg_block")
    conn.execute("ANALYZE bench_pg_recent")
    conn.commit()


class AsyncPgMatcher:
    """One joiner's connection: ``await join(...)`` -> partner id, or None when queued."""

    def __init__(self, conn, cooldown_seconds: float) -> None:
        self.conn = conn
        self.cooldown = cooldown_seconds

    @classmethod
    async def connect(cls, dsn: str, cooldown_seconds: float) -> AsyncPgMatcher:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, prepare_threshold=0)
        await conn.execute("SET synchronous_commit = off")
        return cls(conn, cooldown_seconds)

    async def join(
        self, *, identity_id: str, interests: list[str], lang: str | None, channel: str, now: float
    ) -> str | None:
        cur = await self.conn.execute(JOIN_SQL, (identity_id, interests, lang, channel, now, self.cooldown))
        row = await cur.fetchone()
        partner = row[0] if row else None
        if partner in ("already_matched", "banned"):
            raise RuntimeError(partner)
        return partner

    async def close(self) -> None:
        await self.conn.close()
