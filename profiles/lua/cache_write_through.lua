-- Profile cache: store a record read from Postgres after a write, unless a newer write began.
--
-- Every profile write, after commit, runs cache_bump.lua (count + 1, record deleted), reads
-- Postgres and calls this with the count it got. If another write bumped the count meanwhile,
-- that write's own call carries fresher data, so this one stores nothing.
--
-- KEYS[1]  generation hash of the user (fields n, t)
-- KEYS[2]  record key of the user
-- KEYS[3]  alias key of the user's current username
-- ARGV[1]  write count returned by the bump
-- ARGV[2]  record JSON
-- ARGV[3]  user id (the alias value)
-- ARGV[4]  TTL of record and alias, seconds
--
-- Returns 1 when stored, 0 when a newer write won.
local current = redis.call('HGET', KEYS[1], 'n') or '0'
if current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return 1
