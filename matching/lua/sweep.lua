--[[
sweep.lua: drop ghosts (members whose ticket expired) from one pool set. Called by
matching.pool.sweep_stale with a batch of members read by SSCAN; the ticket check and the
SREM happen atomically, so a member that re-joined between the scan and this call stays.
Key layout: see match.lua (T = the pool prefix, {pool} tag).

KEYS[1] a pool set (waiting, interest:<tag> or lang:<code>)
ARGV[1] T   ARGV[2..n] members to check

Returns the number of members removed.
]]

local T = ARGV[1]
local removed = 0
for i = 2, #ARGV do
  if redis.call("EXISTS", T .. "ticket:" .. ARGV[i]) == 0 then
    removed = removed + redis.call("SREM", KEYS[1], ARGV[i])
  end
end
return removed
