--[[
channel.lua: record the caller's newest socket (the newest wins). Called by
matching.pool.update_channel. Key layout: see match.lua (T = the pool prefix, {pool} tag).

KEYS[1] caller ticket   KEYS[2] caller current
ARGV[1] T   ARGV[2] caller id   ARGV[3] channel name

Sets "ch" on the ticket if queued, and chan_a or chan_b on the live match hash if in one.
Returns the number of records updated (0..2).
]]

local T = ARGV[1]
local me = ARGV[2]
local updated = 0
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("HSET", KEYS[1], "ch", ARGV[3])
  updated = updated + 1
end
local mid = redis.call("GET", KEYS[2])
if mid then
  local mkey = T .. "match:" .. mid
  local m = redis.call("HMGET", mkey, "a", "b", "ended_at")
  if m[1] and not m[3] then
    if m[1] == me then
      redis.call("HSET", mkey, "chan_a", ARGV[3])
      updated = updated + 1
    elseif m[2] == me then
      redis.call("HSET", mkey, "chan_b", ARGV[3])
      updated = updated + 1
    end
  end
end
return updated
