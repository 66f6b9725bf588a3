-- Profile cache: store a record a reader loaded from Postgres after a miss, unless that could
-- hide a newer write.
--
-- The reader passes the server time of its miss, taken before it queried Postgres. If a write
-- of this profile was committed and announced (cache_bump.lua) at or after that time, the
-- reader may hold the old row, so it stores nothing. Otherwise it stores with NX: it never
-- overwrites a record, only fills a gap.
--
-- KEYS[1]  generation hash of the user (fields n: write count, t: last write in ms)
-- KEYS[2]  record key
-- KEYS[3]  alias key of the record's username
-- ARGV[1]  server time of the miss, ms
-- ARGV[2]  record JSON
-- ARGV[3]  user id
-- ARGV[4]  TTL of record and alias, seconds
--
-- Returns 1 when the record was stored, 0 otherwise.
local last_write = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if last_write >= tonumber(ARGV[1]) then
  return 0
end
local stored = redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4], 'NX')
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4], 'NX')
if stored then return 1 end
return 0
