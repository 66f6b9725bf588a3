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
-- Returns {"hit", record}, {"missing"} (negative entry), {"miss"} (no alias) or
-- {"miss", user id} (alias known, record gone).
local count = ARGV[2] == '1'
local user_id = redis.call('GET', KEYS[1])
if not user_id then
  if count then redis.call('HINCRBY', KEYS[2], 'misses', 1) end
  return {'miss'}
end
if user_id == '' then
  if count then redis.call('HINCRBY', KEYS[2], 'negative_hits', 1) end
  return {'missing'}
end
local record = redis.call('GET', ARGV[1] .. user_id)
if not record then
  if count then redis.call('HINCRBY', KEYS[2], 'misses', 1) end
  return {'miss', user_id}
end
if count then redis.call('HINCRBY', KEYS[2], 'hits', 1) end
return {'hit', record}
