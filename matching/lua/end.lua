--[[
end.lua: end the caller's live match for BOTH sides, atomically and at most once.
Called by matching.pool.end_match. Key layout: see match.lua (T = the pool prefix, {pool} tag).

KEYS[1] caller current (T.."current:"..id)   KEYS[2] live matches zset (T.."live")
ARGV[1] T   ARGV[2] caller id   ARGV[3] now (unix seconds)   ARGV[4] ended-record TTL (s)
ARGV[5] reason

Deletes T.."current:"..a and ..b where they still hold this match id, stamps ended_at,
ended_by and end_reason on T.."match:"..mid, keeps that hash ARGV[4] seconds (likes and
reports right after the call), and drops the match from the live zset.

Returns false when the caller is in no live match, else
  {mid, a, b, partner, partner_channel, started_at, ended_at, "a,b common"}
]]

local T = ARGV[1]
local me = ARGV[2]
local mid = redis.call("GET", KEYS[1])
if not mid then
  return false
end
local mkey = T .. "match:" .. mid
local m = redis.call("HMGET", mkey, "a", "b", "chan_a", "chan_b", "started_at", "common", "ended_at")
if not m[1] or m[7] then
  redis.call("DEL", KEYS[1])
  return false
end
for _, id in ipairs({ m[1], m[2] }) do
  local ckey = T .. "current:" .. id
  if redis.call("GET", ckey) == mid then
    redis.call("DEL", ckey)
  end
end
redis.call("HSET", mkey, "ended_at", ARGV[3], "ended_by", me, "end_reason", ARGV[5])
redis.call("EXPIRE", mkey, tonumber(ARGV[4]))
redis.call("ZREM", KEYS[2], mid)
local partner, channel = m[2], m[4]
if m[2] == me then
  partner, channel = m[1], m[3]
end
return { mid, m[1], m[2], partner, channel or "", m[5] or ARGV[3], ARGV[3], m[6] or "" }
