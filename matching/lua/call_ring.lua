--[[
call_ring.lua: start ringing a friend, unless either side is busy. Called by matching.calls.ring.
Key layout: see match.lua (T = the pool prefix, {pool} tag) and seendr/keys.py (call, call_line).

KEYS[1] caller current   KEYS[2] callee current   KEYS[3] caller line   KEYS[4] callee line
KEYS[5] call hash
ARGV[1] caller id   ARGV[2] callee id   ARGV[3] caller channel   ARGV[4] callee channel
ARGV[5] now (unix seconds)   ARGV[6] TTL of the call and the lines (s)   ARGV[7] call id

A line holds the id of the one call an identity is placing or being rung by. Both lines and the
call hash expire on their own (the ring time plus a grace), so a call whose servers died frees
both people without anyone sending anything.

Returns "ok", "caller_busy" (the caller is in a match or already on a call) or "busy".
]]

if redis.call("EXISTS", KEYS[1]) == 1 or redis.call("EXISTS", KEYS[3]) == 1 then
  return "caller_busy"
end
if redis.call("EXISTS", KEYS[2]) == 1 or redis.call("EXISTS", KEYS[4]) == 1 then
  return "busy"
end
local ttl = tonumber(ARGV[6])
redis.call("SET", KEYS[3], ARGV[7], "EX", ttl)
redis.call("SET", KEYS[4], ARGV[7], "EX", ttl)
redis.call(
  "HSET", KEYS[5],
  "caller", ARGV[1], "callee", ARGV[2], "chan_caller", ARGV[3], "chan_callee", ARGV[4],
  "created", ARGV[5], "state", "ringing"
)
redis.call("EXPIRE", KEYS[5], ttl)
return "ok"
