-- Profile cache: resolve a username alias and read its record, in one round trip.
--
-- Key layout: alias "<prefix>pc:name:<username>" -> user id ("" = no such user, a short-lived
-- negative entry); record "<prefix>pc:rec:<user id>" -> JSON.
--
-- KEYS[1]  the alias key of the username
-- KEYS[2]  stats hash (fields hits, misses, negative_hits)
-- ARGV[1]  record key prefix (the user id read from the alias is appended)
-- ARGV[2]  "1" to count this read in the stats, "0" not to
--
-- Returns {state, now in ms, value}: {"hit", now, record}, {"missing", now} (negative
-- entry), {"miss", now} (no alias) or {"miss", now, user id} (alias known, record gone).
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local count = ARGV[2] == '1'
local user_id = redis.call('GET', KEYS[1])
if not user_id then
  if count then redis.call('HINCRBY', KEYS[2], 'misses', 1) end
  return {'miss', now}
end
if user_id == '' then
  if count then redis.call('HINCRBY', KEYS[2], 'negative_hits', 1) end
  return {'missing', now}
end
local record = redis.call('GET', ARGV[1] .. user_id)
if not record then
  if count then redis.call('HINCRBY', KEYS[2], 'misses', 1) end
  return {'miss', now, user_id}
end
if count then redis.call('HINCRBY', KEYS[2], 'hits', 1) end
return {'hit', now, record}
