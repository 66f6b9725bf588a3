--[[
leave.lua: take the caller out of the waiting pool. Called by matching.pool.leave_pool.
Key layout: see match.lua (T = the pool prefix, {pool} tag; the ticket is a tab separated string
"joined ints lang ...").

KEYS[1] caller ticket   KEYS[2] waiting set
ARGV[1] T   ARGV[2] caller id

Removes the id from the waiting set and from the interest/language sets its ticket names,
then deletes the ticket. Returns 1 if a ticket existed, else 0.
]]

local T = ARGV[1]
local me = ARGV[2]
redis.call("SREM", KEYS[2], me)
local ticket = redis.call("GET", KEYS[1])
if not ticket then
  return 0
end
local _, _, ints, lang = string.find(ticket, "^[^\t]*\t([^\t]*)\t([^\t]*)")
for tag in string.gmatch(ints or "", "[^,]+") do
  redis.call("SREM", T .. "interest:" .. tag, me)
end
if lang and lang ~= "" then
  redis.call("SREM", T .. "lang:" .. lang, me)
end
return redis.call("DEL", KEYS[1])
