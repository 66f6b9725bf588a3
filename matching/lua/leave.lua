--[[
leave.lua: take the caller out of the waiting pool. Called by matching.pool.leave_pool.
Key layout: see match.lua (T = the pool prefix, {pool} tag).

KEYS[1] caller ticket   KEYS[2] waiting set
ARGV[1] T   ARGV[2] caller id

Removes the id from the waiting set and from the interest/language sets its ticket names,
then deletes the ticket. Returns 1 if a ticket existed, else 0.
]]

local T = ARGV[1]
local me = ARGV[2]
local h = redis.call("HMGET", KEYS[1], "ints", "lang")
redis.call("SREM", KEYS[2], me)
if h[1] then
  for tag in string.gmatch(h[1], "[^,]+") do
    redis.call("SREM", T .. "interest:" .. tag, me)
  end
end
if h[2] and h[2] ~= "" then
  redis.call("SREM", T .. "lang:" .. h[2], me)
end
return redis.call("DEL", KEYS[1])
