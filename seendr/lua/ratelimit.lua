-- GCRA (generic cell rate algorithm) rate limiter: one key per (scope, subject).
--
-- KEYS[1]  the limiter key (seendr.keys.rate_limit(scope, subject)); a string holding the
--          "theoretical arrival time" (TAT) in milliseconds since the epoch.
-- ARGV[1]  now, milliseconds since the epoch (the caller passes the time in)
-- ARGV[2]  emission interval in ms: period / limit (one request "costs" this much time)
-- ARGV[3]  period in ms: the burst tolerance is period - interval, so up to `limit`
--          requests pass at once and then one more every interval
-- ARGV[4]  cost (normally 1)
--
-- Returns {allowed (1|0), retry_after_ms, remaining}.
-- The key expires when it would have drained back to "no history", so idle subjects cost
-- nothing and a refused request never extends the wait.

local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])

local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end

local new_tat = tat + interval * cost
local allow_at = new_tat - period

if now < allow_at then
  return {0, math.ceil(allow_at - now), 0}
end

local ttl = math.ceil(new_tat - now)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', ttl)
local remaining = math.floor((period - (new_tat - now)) / interval)
return {1, 0, remaining}
