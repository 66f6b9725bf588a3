-- Profile cache: announce a committed profile write, before re-reading Postgres.
--
-- Bumps the write count, stamps the server time (readers that missed before it will not
-- fill), and deletes the record so nobody reads the old one meanwhile.
--
-- KEYS[1]  generation hash of the user (fields n, t)
-- KEYS[2]  record key
-- ARGV[1]  TTL of the generation hash, seconds (longer than any record TTL)
--
-- Returns {write count, old record or nil} (the old record tells which alias to drop on a
-- rename).
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local last = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if now > last then
  redis.call('HSET', KEYS[1], 't', now)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local old = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
return {n, old}
