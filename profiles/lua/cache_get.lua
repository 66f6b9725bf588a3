-- Profile cache: read many records by user id and count hits/misses, in one round trip.
--
-- KEYS[1]     stats hash (fields hits, misses)
-- KEYS[2..n]  record keys (String, JSON of one public profile)
-- ARGV[1]     "1" to count this read in the stats, "0" not to (waiters polling for a fill)
--
-- Returns {now in ms, value...}: the server time (a reader's fill later passes it back to
-- cache_fill.lua) and the values in KEYS order, a missing record as nil.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local values = redis.call('MGET', unpack(KEYS, 2))
local hits = 0
for i = 1, #values do
  if values[i] then hits = hits + 1 end
end
if ARGV[1] == '1' then
  if hits > 0 then redis.call('HINCRBY', KEYS[1], 'hits', hits) end
  if #values - hits > 0 then redis.call('HINCRBY', KEYS[1], 'misses', #values - hits) end
end
table.insert(values, 1, now)
return values
