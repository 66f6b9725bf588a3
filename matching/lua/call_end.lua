--[[
call_end.lua: end a ringing call without a match (declined, timeout, cancelled, unavailable),
atomically and at most once. Called by matching.calls.end_call.

KEYS[1] call hash   KEYS[2] caller line   KEYS[3] callee line
ARGV[1] call id   ARGV[2] reason   ARGV[3] who ends it (identity id)
ARGV[4] who may: "caller", "callee" or "either"   ARGV[5] TTL of the ended call record (s)

Returns {"ended"} when this call ended it; otherwise the call's state: {"accepted"} (the callee
answered a moment ago: a match.found is on its way), {"gone"} (expired, or ended before), or
{"forbidden"} (``who`` may not end it this way).
]]

local c = redis.call("HMGET", KEYS[1], "caller", "callee", "state")
if not c[1] then
  return { "gone" }
end
if c[3] ~= "ringing" then
  return { c[3] == "accepted" and "accepted" or "gone" }
end
local who, may = ARGV[3], ARGV[4]
if (may == "caller" and who ~= c[1]) or (may == "callee" and who ~= c[2])
  or (may == "either" and who ~= c[1] and who ~= c[2]) then
  return { "forbidden" }
end
redis.call("HSET", KEYS[1], "state", ARGV[2])
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[5]))
for _, line in ipairs({ KEYS[2], KEYS[3] }) do
  if redis.call("GET", line) == ARGV[1] then
    redis.call("DEL", line)
  end
end
return { "ended" }
