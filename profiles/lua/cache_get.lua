-- Profile cache: read many records by user id and count hits/misses, in one round trip.
--
-- KEYS[1]     stats hash (fields hits, misses)
-- KEYS[2..n]  record keys (String, JSON of one public profile)
-- ARGV[1]     "1" to count this read in the stats, "0" not to (waiters polling for a fill)
--
-- Returns the values in KEYS order; a missing record is nil.
local values = redis.call('MGET', unpack(KEYS, 2))
if ARGV[1] == '1' then
  local hits = 0
  for i = 1, #values do
    if values[i] then hits = hits + 1 end
  end
  if hits > 0 then redis.call('HINCRBY', KEYS[1], 'hits', hits) end
  if #values - hits > 0 then redis.call('HINCRBY', KEYS[1], 'misses', #values - hits) end
end
return values
