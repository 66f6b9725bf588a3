--[[
heartbeat.lua: keep a live socket's pool state alive. Called by matching.pool.heartbeat.
Key layout: see match.lua (T = the pool prefix, {pool} tag).

KEYS[1] caller ticket   KEYS[2] caller current   KEYS[3] live matches zset
ARGV[1] T   ARGV[2] ticket TTL (s)   ARGV[3] current-match TTL (s)   ARGV[4] now (unix seconds)

Refreshes the ticket TTL (if queued); if in a live match, refreshes the caller's current key,
the match hash and the match's last-heartbeat score in the live zset.
Returns "matched", "queued" or "idle".
]]

local T = ARGV[1]
local state = "idle"
if redis.call("EXPIRE", KEYS[1], tonumber(ARGV[2])) == 1 then
  state = "queued"
end
local mid = redis.call("GET", KEYS[2])
if mid then
  local mkey = T .. "match:" .. mid
  if redis.call("EXISTS", mkey) == 1 and redis.call("HEXISTS", mkey, "ended_at") == 0 then
    redis.call("EXPIRE", KEYS[2], tonumber(ARGV[3]))
    redis.call("EXPIRE", mkey, tonumber(ARGV[3]))
    redis.call("ZADD", KEYS[3], "XX", ARGV[4], mid)
    state = "matched"
  end
end
return state
