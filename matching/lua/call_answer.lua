--[[
call_answer.lua: the callee accepts a ringing call; in one atomic step the call becomes an
ordinary live match (the same records match.lua writes, with stage "friend"). Called by
matching.calls.accept. Key layout: see match.lua (T = the pool prefix, {pool} tag).

KEYS[1] call hash        KEYS[2] caller line      KEYS[3] callee line
KEYS[4] caller current   KEYS[5] callee current   KEYS[6] live matches zset
ARGV[1] T   ARGV[2] call id   ARGV[3] answerer id   ARGV[4] now (unix seconds)
ARGV[5] fresh match id   ARGV[6] current-match TTL   ARGV[7] TTL of the ended call record (s)
ARGV[8] the answerer's channel   ARGV[9] the answerer's public card (JSON, for the record)

The answerer's socket leaves the pool first if it was waiting (a caller never waits: it left
the pool to ring). The answerer (the callee) is side "a", the initiator: it makes the WebRTC
offer.

Returns {"gone"} (not ringing, or not the answerer's call), {"busy", caller, caller channel}
(either side got into a match meanwhile: the call ends as "unavailable"), or
{"matched", match id, caller, caller channel, started_at}.
]]

local T = ARGV[1]
local c = redis.call("HMGET", KEYS[1], "caller", "callee", "chan_caller", "state")
if not c[1] or c[4] ~= "ringing" or c[2] ~= ARGV[3] then
  return { "gone" }
end
for _, line in ipairs({ KEYS[2], KEYS[3] }) do
  if redis.call("GET", line) == ARGV[2] then
    redis.call("DEL", line)
  end
end
if redis.call("EXISTS", KEYS[4]) == 1 or redis.call("EXISTS", KEYS[5]) == 1 then
  redis.call("HSET", KEYS[1], "state", "unavailable")
  redis.call("EXPIRE", KEYS[1], tonumber(ARGV[7]))
  return { "busy", c[1], c[3] or "" }
end

local mid = ARGV[5]
local mkey = T .. "match:" .. mid
if redis.call("EXISTS", mkey) == 1 then
  return redis.error_reply("match id collision")
end
local current_ttl = tonumber(ARGV[6])
redis.call(
  "HSET", mkey,
  "a", c[2], "b", c[1], "chan_a", ARGV[8], "chan_b", c[3] or "", "started_at", ARGV[4],
  "common", "", "stage", "friend", "wait_a", "0", "wait_b", "0", "card_a", ARGV[9] or ""
)
redis.call("EXPIRE", mkey, current_ttl)
redis.call("SET", KEYS[5], mid, "EX", current_ttl)
redis.call("SET", KEYS[4], mid, "EX", current_ttl)
redis.call("ZADD", KEYS[6], ARGV[4], mid)
redis.call("HSET", KEYS[1], "state", "accepted", "match", mid)
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[7]))
return { "matched", mid, c[1], c[3] or "", ARGV[4] }
